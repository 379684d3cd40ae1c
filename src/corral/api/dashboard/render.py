"""Pages from Jinja2 templates, with the headers every dashboard answer carries.

The Content-Security-Policy allows scripts and styles from this origin only:
no inline script, no inline style, no eval, so htmx (vendored, see
static/VERSION) runs with `allowEval` and its inline indicator styles off
(the htmx-config meta tag in base.html), and every colour and width is an
SVG attribute or a class of static/dashboard.css.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jinja2

from corral.api import errors as api_errors
from corral.api.dashboard import session
from corral.api.dashboard.buckets import bucket_class
from corral.api.http import Request, Response
from corral.errors import CorralError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    # Pages show live state and the session's CSRF token: never cached.
    ("cache-control", "no-store"),
)
HTML = "text/html; charset=utf-8"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("corral.api.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.filters["percent"] = lambda f: f"{100 * f:.0f}%"
    env.filters["bucket"] = bucket_class
    return env


def secure(resp: Response) -> Response:
    for name, value in SECURITY_HEADERS:
        resp.add_header(name, value)
    return resp


def page(req: Request, template: str, status: int = 200, **context: Any) -> Response:
    """The template rendered for this request (a fragment when htmx asks for one)."""
    resp = Response(status=status, content_type=HTML)
    context.setdefault("csrf_token", session.csrf_token(req, resp))
    context.setdefault("path", req.path)
    context.setdefault("user", req.context.user_id)
    body = environment().get_template(template).render(**context)
    resp.body = body.encode()
    return secure(resp)


def error_page(status: int, title: str, detail: str) -> Response:
    """An error as an HTML page (no session needed to show it)."""
    body = (
        environment()
        .get_template("error.html")
        .render(status=status, title=title, detail=detail, user=None, path="", csrf_token="")
    )
    return secure(Response(status=status, body=body.encode(), content_type=HTML))


def error_response(exc: CorralError, method: str, path: str, headers: dict[str, str]) -> Response:
    """A refused dashboard request, for a browser: to the login page when the
    token is missing or refused, else an error page with the detail."""
    if isinstance(exc, api_errors.Unauthenticated):
        if method == "POST" and path.rstrip("/") == session.LOGIN_PATH:
            return session.login_redirect(path, "refused")
        had_session = bool(session.cookies(headers).get(session.TOKEN_COOKIE))
        return session.login_redirect(
            path if method == "GET" else session.PREFIX, "expired" if had_session else None
        )
    resp = error_page(exc.status, exc.title, exc.detail)
    if isinstance(exc, api_errors.MethodNotAllowed) and exc.allow:
        resp.add_header("allow", exc.allow)
    return resp


STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@functools.cache
def static_file(name: str) -> bytes | None:
    """A file of static/ by name, None for any other name (no paths, no dot files)."""
    if "/" in name or name.startswith(".") or not name.endswith(tuple(STATIC_TYPES)):
        return None
    path = resources.files("corral.api.dashboard").joinpath("static", name)
    return path.read_bytes() if path.is_file() else None
