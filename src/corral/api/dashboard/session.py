"""The dashboard's browser session: the token in a cookie, checked by the API's authenticator.

A browser cannot send X-Auth-Token, so the login form takes the token (a
Keystone token, or `user[:project]` under noauth2) and the dashboard keeps it
in an HttpOnly, SameSite=Strict cookie scoped to /dashboard. On every
dashboard request the token is moved from the cookie (or, for the login
POST, from the form) into X-Auth-Token and handed to the same Authenticator
the API uses (corral.api.auth, corral.api.keystone): a token the API would
refuse is refused here. The cookie is read on /dashboard paths only, so it
never authenticates an API call.

Forms that POST carry a CSRF token checked against a second cookie (the
double-submit pattern, which needs no server-side state and so works across
worker processes); SameSite=Strict already keeps other sites' forms from
sending the cookies at all.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

from corral.api.auth import Authenticator
from corral.api.context import RequestContext
from corral.api.errors import Forbidden, Unauthenticated
from corral.api.http import Request, Response
from corral.errors import BadRequest

PREFIX = "/dashboard"
LOGIN_PATH = f"{PREFIX}/login"
LOGOUT_PATH = f"{PREFIX}/logout"
STATIC_PREFIX = f"{PREFIX}/static/"
TOKEN_COOKIE = "corral_dashboard_token"
CSRF_COOKIE = "corral_dashboard_csrf"
CSRF_FIELD = "csrf_token"
TOKEN_FIELD = "token"
# Keystone's Fernet tokens are about 200 bytes, PKI tokens were a few KB; a
# cookie must stay under the browsers' 4 KB.
MAX_TOKEN_BYTES = 3800
MAX_FORM_BYTES = 64 * 1024
# Cookie values (RFC 6265 cookie-octet): visible ASCII but for " , ; and \.
_COOKIE_OCTETS = frozenset(chr(c) for c in range(0x21, 0x7F)) - set('",;\\')


def owns(path: str) -> bool:
    """Whether the path is the dashboard's (HTML, cookie session)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _public(method: str, path: str) -> bool:
    return path.startswith(STATIC_PREFIX) or (
        path.rstrip("/") == LOGIN_PATH and method in ("GET", "HEAD")
    )


def cookies(headers: Mapping[str, str]) -> dict[str, str]:
    """The Cookie header's name=value pairs (the first of a repeated name wins)."""
    out: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name not in out:
            out[name] = value
    return out


def form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the last of a repeated field wins)."""
    if len(body) > MAX_FORM_BYTES:
        raise BadRequest(f"The form is {len(body)} bytes; the limit is {MAX_FORM_BYTES}.")
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise BadRequest("The form is not valid UTF-8.") from None


def check_token(token: str) -> str:
    """The token as a cookie can hold it; BadRequest otherwise."""
    token = token.strip()
    if not token:
        raise BadRequest("Enter a token.")
    if len(token.encode()) > MAX_TOKEN_BYTES:
        raise BadRequest(f"The token is longer than {MAX_TOKEN_BYTES} bytes.")
    if not set(token) <= _COOKIE_OCTETS:
        raise BadRequest("The token holds characters a token never has (spaces, quotes, ; or ,).")
    return token


def check_csrf(headers: Mapping[str, str], fields: Mapping[str, str]) -> None:
    """Forbidden unless the form's CSRF token is the CSRF cookie's."""
    expected = cookies(headers).get(CSRF_COOKIE, "")
    given = fields.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Forbidden(
            "The form's CSRF token does not match this browser's session; reload the page "
            "and send the form again."
        )


async def authenticate(
    authenticator: Authenticator, method: str, path: str, headers: dict[str, str], body: bytes
) -> RequestContext:
    """The caller of a dashboard request, by the API's own authenticator.

    The login POST authenticates the token its form carries, every other
    page the token cookie's. A POST's CSRF token is checked first, so a
    forged form reaches neither the authenticator nor a handler.
    """
    if _public(method, path):
        return RequestContext()
    token: str | None
    if method == "POST":
        fields = form(body)
        check_csrf(headers, fields)
        if path.rstrip("/") == LOGIN_PATH:
            token = check_token(fields.get(TOKEN_FIELD, ""))
        else:
            token = cookies(headers).get(TOKEN_COOKIE)
    else:
        token = cookies(headers).get(TOKEN_COOKIE)
    if not token:
        raise Unauthenticated("")
    identity = {k: v for k, v in headers.items() if k != "x-auth-token"}
    identity["x-auth-token"] = token
    return await authenticator.authenticate(method, path, identity)


def csrf_token(req: Request, resp: Response) -> str:
    """This browser's CSRF token; a new one (set as a cookie on `resp`) when it has none."""
    token = cookies(req.headers).get(CSRF_COOKIE, "")
    if len(token) == 43 and set(token) <= _COOKIE_OCTETS:
        return token
    token = secrets.token_urlsafe(32)
    resp.add_header("set-cookie", cookie(CSRF_COOKIE, token))
    return token


def cookie(name: str, value: str, *, max_age: int | None = None) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, for the dashboard's paths only."""
    parts = [f"{name}={value}", f"Path={PREFIX}", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def redirect(location: str) -> Response:
    """303 See Other: after a form, the browser GETs the next page."""
    resp = Response(status=303)
    resp.add_header("location", location)
    resp.add_header("cache-control", "no-store")
    return resp


def login_redirect(path: str, error: str | None = None) -> Response:
    """To the login page, coming back to `path` after it."""
    query = f"?next={quote(path, safe='/')}" if path.rstrip("/") not in (LOGIN_PATH, PREFIX) else ""
    if error:
        query += ("&" if query else "?") + f"error={quote(error)}"
    return redirect(LOGIN_PATH + query)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a dashboard path only, never another site."""
    if value and owns(value) and "//" not in value and "\\" not in value:
        return value
    return PREFIX
