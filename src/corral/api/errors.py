"""HTTP-only errors, and the Placement error body they and the domain errors become:
`{"errors": [{status, title, detail, code, request_id}]}`.

The classes here are raised only by the HTTP face (framing limits, content
negotiation, routing, authentication, policy, a missing engine); the errors the
layers below raise live in corral.errors, and both kinds are CorralErrors so the
app renders them alike. Each class is the WebOb exception upstream Placement
raises for the same case (webob.exc.HTTPRequestEntityTooLarge, HTTPNotAcceptable,
HTTPForbidden ...).

The detail text starts with the same stock sentence per status that upstream's
WebOb exceptions put there, because clients and the conformance suite match on it.
"""

from __future__ import annotations

import html
import re
from typing import Any

from corral.api.microversion import MAX, MIN, Version
from corral.api.negotiation import acceptable_offers
from corral.errors import CorralError


class Unauthorized(CorralError):
    status = 401
    title = "Unauthorized"


class Unauthenticated(Unauthorized):
    """401; `challenge` is the WWW-Authenticate value telling the client where to log in.

    `body` (with `content_type`) is a complete answer written by the identity
    layer (keystonemiddleware's JSON rejection), sent as is instead of the
    Placement error body.
    """

    def __init__(
        self,
        detail: str,
        *,
        challenge: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.challenge = challenge
        self.body = body
        self.content_type = content_type


class Forbidden(CorralError):
    """Policy (or an operator endpoint's own guard) refused the caller."""

    status = 403
    title = "Forbidden"


class RouteNotFound(CorralError):
    """No route matches the path (a handler's missing record is corral.errors.NotFound)."""

    status = 404
    title = "Not Found"


class MethodNotAllowed(CorralError):
    """The path is routed but not for this method; `allow` feeds the Allow header."""

    status = 405
    title = "Method Not Allowed"

    def __init__(self, detail: str, allow: str | None) -> None:
        super().__init__(detail)
        self.allow = allow


class NotAcceptable(CorralError):
    status = 406
    title = "Not Acceptable"


class PayloadTooLarge(CorralError):
    status = 413
    title = "Request Entity Too Large"


class UnsupportedMediaType(CorralError):
    status = 415
    title = "Unsupported Media Type"


class HeadersTooLarge(CorralError):
    status = 431
    title = "Request Header Fields Too Large"


class ServiceUnavailable(CorralError):
    status = 503
    title = "Service Unavailable"


class IdentityUnavailable(ServiceUnavailable):
    """Keystone could not be asked whether the token is good."""


class Overloaded(ServiceUnavailable):
    """The worker already holds as many requests as it may; `retry_after` seconds
    feed the Retry-After header."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed "
    "or otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document "
    "you requested. Either you supplied the wrong credentials (e.g., bad password), or "
    "your browser does not understand how to supply the credentials required.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
    415: "The request media type is not supported by this server.",
    500: "The server has either erred or is incapable of performing the requested operation.",
}

# Error codes appear in the body from this microversion on.
ERROR_CODE_MINOR = 23
DEFAULT_CODE = "placement.undefined_code"


def detail_text(status: int, detail: str, method: str = "") -> str:
    if status == 405:
        return f"The method {method} is not allowed for this resource. \n\n {detail}"
    if status == 406:
        return (
            "The resource could not be generated that was acceptable to your browser "
            f"(content of type application/json. \n\n {detail}"
        )
    explanation = _EXPLANATIONS.get(status, "")
    if not explanation:
        return detail
    return f"{explanation}\n\n {detail}  "


def error_body(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    version: Version | None = None,
    request_id: str | None = None,
    method: str = "",
) -> dict[str, Any]:
    err: dict[str, Any] = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "detail": detail_text(status, detail, method),
    }
    if version is not None and version.at_least(ERROR_CODE_MINOR):
        err["code"] = code or DEFAULT_CODE
    if request_id:
        err["request_id"] = request_id
    if status == 406 and version is None:
        err["max_version"] = str(MAX)
        err["min_version"] = str(MIN)
    return {"errors": [err]}


def error_media_type(accept: str | None) -> str:
    """The media type of an error body, chosen as WebOb does for upstream.

    A missing or `*/*` Accept means JSON (upstream's request log middleware
    sets that); otherwise HTML wins ties with JSON, and plain text is the
    fallback when neither is acceptable.
    """
    if not accept or accept.strip() == "*/*":
        return "application/json"
    matches = acceptable_offers(accept, ("text/html", "application/json"))
    return matches[0] if matches else "text/plain"


# WebOb's per-status body templates (the rest use _DEFAULT_TEXT_BODY); upstream
# never sets an HTML comment on its errors, so none is rendered.
_TEXT_BODIES = {
    405: "The method {method} is not allowed for this resource. <br /><br />\n{detail}",
    406: "The resource could not be generated that was acceptable to your browser\n"
    "(content of type {accept}. <br /><br />\n{detail}",
    415: "The request media type {content_type} is not supported by this server.\n"
    "<br /><br />\n{detail}",
}
_DEFAULT_TEXT_BODY = "{explanation}<br /><br />\n{detail}\n\n"
_BR = re.compile(r"<br.*?>", re.I | re.S)
_COMMENT = re.compile(r"<!--|-->")
_TAG = re.compile(r"<.*?>", re.S)


def _strip_tags(value: str) -> str:
    """WebOb's `strip_tags`: the plain-text form of an HTML error body."""
    value = _BR.sub("\n", value.replace("\n", " ").replace("\r", ""))
    return _TAG.sub("", _COMMENT.sub("", value))


def text_error_body(
    status: int,
    detail: str,
    media_type: str,
    *,
    method: str = "",
    accept: str = "",
    content_type: str | None = None,
) -> str:
    """WebOb's HTML or plain-text rendering of an error, as upstream sends it when the
    Accept header prefers HTML or rules out JSON."""

    def as_html(value: str) -> str:
        return html.escape(value) if media_type == "text/html" else value

    body = _TEXT_BODIES.get(status, _DEFAULT_TEXT_BODY).format(
        explanation=as_html(_EXPLANATIONS.get(status, "")),
        detail=as_html(detail),
        method=as_html(method),
        accept=as_html(accept),
        content_type=as_html(str(content_type)),
    )
    status_line = f"{status} {TITLES.get(status, 'Error')}"
    if media_type == "text/html":
        return (
            f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n"
            f"  <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
        )
    return f"{status_line}\n\n{_strip_tags(body)}"
