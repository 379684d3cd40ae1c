"""CORS, as oslo.middleware's CORS filter answers it ([cors] allowed_origin ...)."""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.api.http import Response

_SIMPLE_HEADERS = {
    "cache-control",
    "content-language",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
}


@dataclass(frozen=True)
class CorsPolicy:
    allowed_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("GET", "PUT", "POST", "DELETE", "PATCH")
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = True
    max_age: int | None = 3600
    _lower_headers: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lower_headers", frozenset(h.lower() for h in self.allow_headers))

    def _origin_allowed(self, origin: str | None) -> bool:
        return origin is not None and (
            "*" in self.allowed_origins or origin in self.allowed_origins
        )

    def preflight(self, headers: dict[str, str]) -> Response | None:
        """Answer an OPTIONS preflight, or None when the request is no preflight."""
        origin = headers.get("origin")
        method = headers.get("access-control-request-method")
        if origin is None or method is None:
            return None
        resp = Response(status=200)
        if not self._origin_allowed(origin) or method.upper() not in self.allow_methods:
            return resp
        requested = [
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        ]
        if any(h not in self._lower_headers and h not in _SIMPLE_HEADERS for h in requested):
            return resp
        resp.add_header("access-control-allow-origin", origin)
        resp.add_header("vary", "Origin")
        if self.allow_credentials:
            resp.add_header("access-control-allow-credentials", "true")
        if self.max_age is not None:
            resp.add_header("access-control-max-age", str(self.max_age))
        resp.add_header("access-control-allow-methods", method.upper())
        if requested:
            resp.add_header("access-control-allow-headers", ",".join(requested))
        resp.headers.append(("x-corral-cors-preflight", "1"))
        return resp

    def decorate(self, headers: dict[str, str], resp: Response) -> None:
        """Add the CORS response headers to an actual (non-preflight) response."""
        if any(name == "x-corral-cors-preflight" for name, _ in resp.headers):
            resp.headers = [(n, v) for n, v in resp.headers if n != "x-corral-cors-preflight"]
            return
        origin = headers.get("origin")
        if not self._origin_allowed(origin):
            return
        assert origin is not None
        resp.add_header("access-control-allow-origin", origin)
        resp.add_header("vary", "Origin")
        if self.allow_credentials:
            resp.add_header("access-control-allow-credentials", "true")
        if self.expose_headers:
            resp.add_header("access-control-expose-headers", ",".join(self.expose_headers))
