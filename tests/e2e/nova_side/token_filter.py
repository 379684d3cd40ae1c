"""Stand-in for Keystone's auth_token middleware in nova-api's pipeline.

Nova 34 dropped `noauth2`; its only auth pipeline is keystonemiddleware
followed by NovaKeystoneContext, which builds the request context from the
X-User-Id / X-Project-Id / X-Roles headers that auth_token sets. This filter
sets the same headers from a token of the form `user:project`, as noauth2
did: `admin:<project>` gets the admin, member and reader roles, any other
user member and reader. It runs only inside the end-to-end test cloud.
"""

from collections.abc import Callable
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Any]


class TokenFilter:
    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Any:
        token = environ.get("HTTP_X_AUTH_TOKEN", "")
        user, _, project = token.partition(":")
        if not user or not project:
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"X-Auth-Token must be user:project"]
        roles = "admin,member,reader" if user == "admin" else "member,reader"
        environ.update(
            {
                "HTTP_X_IDENTITY_STATUS": "Confirmed",
                "HTTP_X_USER_ID": user,
                "HTTP_X_USER_NAME": user,
                "HTTP_X_PROJECT_ID": project,
                "HTTP_X_PROJECT_NAME": project,
                "HTTP_X_ROLES": roles,
                "HTTP_X_USER_DOMAIN_ID": "default",
                "HTTP_X_PROJECT_DOMAIN_ID": "default",
            }
        )
        return self.app(environ, start_response)


def filter_factory(global_conf: dict[str, Any], **local_conf: Any) -> Callable[[App], App]:
    return TokenFilter
