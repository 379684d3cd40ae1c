"""`keystone` authentication: tokens validated by keystonemiddleware, without a WSGI server.

keystonemiddleware's AuthProtocol is WSGI middleware. Rather than re-implement
token validation (caching, service tokens, access rules, expiry, bind checks),
corral calls it the way a WSGI server would: with an environ built from the
request's method, path and headers, and an inner "application" that only
records that the request got through. AuthProtocol strips any identity headers
the caller sent, validates the token (over HTTP to Keystone, or from its
cache) and sets X-User-Id, X-Project-Id, X-Roles, ... on that environ; the
context is read from them exactly as upstream Placement's
PlacementKeystoneContext reads them. The call blocks, so it runs in a worker
thread.

Outcomes, as upstream: no or bad token -> 401 with the `WWW-Authenticate:
Keystone uri="..."` challenge; Keystone unreachable -> 503; with
`delay_auth_decision`, AuthProtocol lets an unidentified request through and,
like PlacementKeystoneContext, this answers 401 for it. Options come from
`[keystone_authtoken]` in the service's ConfigOpts (keystonemiddleware
registers them there itself, as it does for every OpenStack service).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import anyio.to_thread
import orjson
from keystonemiddleware import auth_token
from oslo_config import cfg

from corral.api.auth import PUBLIC_PATHS
from corral.api.context import RequestContext
from corral.api.errors import IdentityUnavailable, Unauthenticated

LOG = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Where the inner application says what it saw: {"identity": environ} when the
# request came through identified, {"identity": None} when it came through
# without one (delay_auth_decision); empty when AuthProtocol answered itself.
_OUTCOME_KEY = "corral.auth.outcome"
_DEFAULT_REJECTION = "The request you have made requires authentication."


def _identified(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The application behind AuthProtocol: note the request passed, answer 401 when
    it carries no identity (delay_auth_decision lets such requests through)."""
    outcome = environ[_OUTCOME_KEY]
    if environ.get("HTTP_X_USER_ID") is None and environ.get("HTTP_X_USER") is None:
        outcome["identity"] = None
        # A 401 makes AuthProtocol add its WWW-Authenticate challenge.
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b""]
    outcome["identity"] = environ
    start_response("204 No Content", [])
    return []


def wsgi_environ(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """A minimal WSGI environ for a request that has no body for the middleware to read."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        # As WSGI servers do: a name with "_" would alias a "-" one (x_user_id
        # vs x-user-id) once both become HTTP_X_USER_ID, so it is dropped.
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    return environ


def identity_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers after AuthProtocol, lower-case; ones it set to None are absent."""
    return {
        key[5:].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    }


def _rejection_detail(body: bytes) -> str:
    try:
        message = orjson.loads(body)["error"]["message"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _DEFAULT_REJECTION
    return message if isinstance(message, str) else _DEFAULT_REJECTION


class KeystoneAuth:
    def __init__(self, conf: cfg.ConfigOpts, *, thread_limit: int = 16) -> None:
        self._protocol: WsgiApp = auth_token.AuthProtocol(_identified, {"oslo_config_config": conf})
        # Its own threads, so slow Keystone answers cannot take the handlers' ones.
        self._limiter = anyio.CapacityLimiter(thread_limit)

    async def authenticate(self, method: str, path: str, headers: dict[str, str]) -> RequestContext:
        if path in PUBLIC_PATHS:
            # As PlacementAuthProtocol: the version document needs no token.
            return RequestContext()
        return await anyio.to_thread.run_sync(
            self.validate, method, path, headers, limiter=self._limiter
        )

    def validate(self, method: str, path: str, headers: dict[str, str]) -> RequestContext:
        """Run AuthProtocol over the request (blocking) and read who it says the caller is."""
        environ = wsgi_environ(method, path, headers)
        outcome: dict[str, dict[str, Any] | None] = {}
        environ[_OUTCOME_KEY] = outcome
        response: dict[str, Any] = {}

        def start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            response["status"] = int(status.split(" ", 1)[0])
            response["headers"] = response_headers
            return lambda _data: None

        chunks = self._protocol(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        identity = outcome.get("identity")
        if identity is not None:
            return RequestContext.from_identity_headers(identity_headers(identity))
        status = response.get("status")
        answer = {k.lower(): v for k, v in response.get("headers", [])}
        challenge = answer.get("www-authenticate")
        if "identity" in outcome:
            # Let through unidentified: refused here, as by PlacementKeystoneContext.
            raise Unauthenticated("", challenge=challenge)
        if status == 401:
            raise Unauthenticated(
                _rejection_detail(body),
                challenge=challenge,
                body=body,
                content_type=answer.get("content-type"),
            )
        if status == 503:
            raise IdentityUnavailable("The Keystone service is temporarily unavailable.")
        LOG.error("keystonemiddleware answered %s: %r", status, body[:500])
        raise RuntimeError(f"unexpected answer {status} from keystonemiddleware")
