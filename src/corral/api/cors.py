"""CORS, answered as oslo.middleware's CORS filter answers it in front of upstream Placement.

With CORS configured ([cors] allowed_origin), every OPTIONS request is a
preflight: the filter replaces whatever the API would have said (Placement has
no OPTIONS handlers, so a 401 or 405) with an empty 200, and adds the
Access-Control-* headers only when the origin, the requested method and every
requested header are allowed. Other requests from an allowed origin get
Access-Control-Allow-Origin (and credentials/expose headers) on whatever the
API answered, errors included. Without CORS configured, OPTIONS is just an
unknown method (405).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.api.http import Response

# oslo.middleware's CORS.simple_headers: always allowed in a preflight.
_SIMPLE_HEADERS = (
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Cache-Control",
    "Content-Language",
    "Expires",
    "Last-Modified",
    "Pragma",
)


@dataclass(frozen=True)
class CorsPolicy:
    allowed_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("GET", "PUT", "POST", "DELETE", "PATCH")
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = True
    max_age: int | None = 3600
    _permitted_headers: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        permitted = frozenset(h.upper() for h in (*self.allow_headers, *_SIMPLE_HEADERS))
        object.__setattr__(self, "_permitted_headers", permitted)

    def _matched_origin(self, origin: str | None) -> str | None:
        """The configured origin entry the request's Origin matches (`*` as a fallback)."""
        if origin is None:
            return None
        if origin in self.allowed_origins:
            return origin
        return "*" if "*" in self.allowed_origins else None

    def preflight(self, headers: dict[str, str]) -> Response:
        """The answer to an OPTIONS request: 200, with CORS headers when it is allowed."""
        resp = Response(status=200)
        origin = self._matched_origin(headers.get("origin"))
        method = headers.get("access-control-request-method")
        if origin is None or method is None:
            return resp
        requested = [
            h.strip() for h in headers.get("access-control-request-headers", "").split(",")
        ]
        requested = [h for h in requested if h]
        # Method names are case-sensitive (RFC 9110); oslo.middleware compares them as given.
        if method not in self.allow_methods:
            return resp
        if any(h.upper() not in self._permitted_headers for h in requested):
            return resp
        resp.add_header("vary", "Origin")
        resp.add_header("access-control-allow-origin", origin)
        if self.allow_credentials:
            resp.add_header("access-control-allow-credentials", "true")
        if self.max_age:
            resp.add_header("access-control-max-age", str(self.max_age))
        resp.add_header("access-control-allow-methods", method)
        if requested:
            resp.add_header("access-control-allow-headers", ",".join(requested))
        return resp

    def decorate(self, headers: dict[str, str], resp: Response) -> None:
        """Add the CORS response headers to an actual (non-preflight) response."""
        origin = self._matched_origin(headers.get("origin"))
        if origin is None:
            return
        vary = [v for n, v in resp.headers if n.lower() == "vary"]
        resp.headers = [(n, v) for n, v in resp.headers if n.lower() != "vary"]
        resp.add_header("vary", ",".join([*vary, "Origin"]))
        resp.add_header("access-control-allow-origin", origin)
        if self.allow_credentials:
            resp.add_header("access-control-allow-credentials", "true")
        if self.expose_headers:
            resp.add_header("access-control-expose-headers", ",".join(self.expose_headers))
