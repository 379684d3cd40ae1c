"""The ASGI application: load shedding, request id, CORS, auth, microversion,
routing, errors.

The order of checks is upstream Placement's middleware order, because clients
and the conformance suite see it: auth (401) comes before microversion parsing
(400/406), which comes before routing (404/405).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import anyio.to_thread
import orjson

from corral import metrics
from corral.api import errors as api_errors
from corral.api import microversion
from corral.api.auth import Authenticator
from corral.api.context import RequestContext
from corral.api.cors import CorsPolicy
from corral.api.dashboard import render as dashboard_render
from corral.api.dashboard import session as dashboard_session
from corral.api.http import Request, Response, accepted, json_response
from corral.api.routing import Router
from corral.api.services import Services
from corral.errors import BadRequest, CorralError
from corral.store.database import is_unreachable

LOG = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    """Input bounds checked before any handler runs."""

    max_body_bytes: int = 4 * 1024 * 1024
    max_query_bytes: int = 16 * 1024
    max_query_params: int = 256
    max_path_bytes: int = 2048
    # Request line plus headers. The h11 protocol (corral.service.http_protocol)
    # stops buffering an unfinished header block at this size; a block that
    # arrives whole is measured here.
    max_header_bytes: int = 16 * 1024


RequestObserver = Callable[[str, str, int, float], None]

# Seconds a refused client is told to wait: requests are short, so a slot is
# usually free again well within one.
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Admission:
    """How many requests one worker holds at once; the rest get 503 at once.

    A held request is one being read, waiting for a handler thread, in a handler
    or being answered. Bounding them bounds the queue in front of the handler
    threads (so latency under overload) and the request bodies in memory.
    `unbounded_paths` (health and metrics) are never refused nor counted, and
    have threads of their own, so they answer while the others queue.
    """

    max_in_flight: int | None = None
    unbounded_paths: frozenset[str] = frozenset()
    unbounded_threads: int = 2


class App:
    def __init__(
        self,
        router: Router,
        authenticator: Authenticator,
        services: Services,
        *,
        cors: CorsPolicy | None = None,
        limits: Limits | None = None,
        thread_limit: int = 16,
        observer: RequestObserver | None = None,
        admission: Admission | None = None,
        dashboard: bool = False,
    ) -> None:
        self.router = router
        # /dashboard is served (its routes are in the router): its requests
        # authenticate from the session cookie and are answered in HTML.
        self.dashboard = dashboard
        self.services = services
        self.authenticator = authenticator
        self.cors = cors
        self.limits = limits or Limits()
        self.limiter = anyio.CapacityLimiter(thread_limit)
        self.admission = admission or Admission()
        self.unbounded_limiter = anyio.CapacityLimiter(self.admission.unbounded_threads)
        # Requests held now, counted against admission.max_in_flight. Only the
        # event loop's thread touches it, so a plain int is safe.
        self.in_flight = 0
        self.observer = observer
        self.on_startup: list[Callable[[], None]] = []
        self.on_shutdown: list[Callable[[], None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = f"req-{uuid.uuid4()}"
        headers = _headers(scope)
        method: str = scope["method"]
        path: str = (
            unquote(scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]) or scope["path"]
        )
        bounded = (path.rstrip("/") or "/") not in self.admission.unbounded_paths
        limit = self.admission.max_in_flight
        shed = bounded and limit is not None and self.in_flight >= limit
        counted = bounded and not shed
        if counted:
            self.in_flight += 1
            metrics.set_requests_in_flight(self.in_flight)
        try:
            resp = await self._respond(
                scope, receive, method, path, headers, request_id, shed=shed, bounded=bounded
            )
            if self.cors is not None and method != "OPTIONS":
                self.cors.decorate(headers, resp)
            resp.add_header("x-openstack-request-id", request_id)
            _absolute_location(resp, scope, headers)
            await _send(send, resp, head_only=method == "HEAD")
        finally:
            # Held until the answer is sent (or the client went away).
            if counted:
                self.in_flight -= 1
                metrics.set_requests_in_flight(self.in_flight)
        if self.observer is not None:
            self.observer(method, path, resp.status, time.perf_counter() - started)

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        method: str,
        path: str,
        headers: dict[str, str],
        request_id: str,
        *,
        shed: bool = False,
        bounded: bool = True,
    ) -> Response:
        if self.cors is not None and method == "OPTIONS":
            # With CORS on, every OPTIONS is a preflight (see corral.api.cors).
            return self.cors.preflight(headers)
        version: microversion.Version | None = None
        vary = True
        browser = self.dashboard and dashboard_session.owns(path)
        try:
            if shed:
                # Before the body is read or the token checked: refusing must
                # cost next to nothing, or it would not relieve the overload.
                raise api_errors.Overloaded(
                    f"This worker is serving {self.admission.max_in_flight} requests, its "
                    f"limit; retry after {RETRY_AFTER_SECONDS} s.",
                    RETRY_AFTER_SECONDS,
                )
            self._check_limits(scope, path)
            body = await _read_body(receive, self.limits.max_body_bytes)
            if browser:
                context = await dashboard_session.authenticate(
                    self.authenticator, method, path, headers, body
                )
            else:
                context = await self.authenticator.authenticate(method, path, headers)
            context.request_id = request_id
            try:
                version = microversion.from_header(headers.get(microversion.HEADER))
            except microversion.VersionParseError as exc:
                raise BadRequest(f"Invalid microversion: {exc}") from None
            except microversion.VersionNotAvailable as exc:
                raise api_errors.NotAcceptable(f"Invalid microversion: {exc}") from None
            resp = await self._dispatch(
                method, path, scope, headers, body, version, context, bounded=bounded
            )
        except CorralError as exc:
            if browser:
                return dashboard_render.error_response(exc, method, path, headers)
            # Like upstream's WebOb errors raised through its microversion
            # middleware: the version header but no Vary (only the router's own
            # 405 is a returned response, which gets both).
            vary = isinstance(exc, api_errors.MethodNotAllowed) and exc.allow is not None
            resp = self._error(exc.status, exc.detail, exc.code, version, request_id, method)
            media_type = api_errors.error_media_type(headers.get("accept"))
            if isinstance(exc, api_errors.Unauthenticated) and exc.body is not None:
                # keystonemiddleware's own rejection, passed on as it wrote it.
                resp = Response(status=401, body=exc.body, content_type=exc.content_type)
            elif media_type != "application/json":
                # As upstream's WebOb errors: HTML or plain text when JSON is not wanted.
                resp.content_type = f"{media_type}; charset=UTF-8"
                resp.body = api_errors.text_error_body(
                    exc.status,
                    exc.detail,
                    media_type,
                    method=method,
                    accept=headers.get("accept", ""),
                    content_type=headers.get("content-type"),
                ).encode()
            if isinstance(exc, api_errors.MethodNotAllowed) and exc.allow:
                resp.add_header("allow", exc.allow)
            if isinstance(exc, api_errors.Unauthenticated) and exc.challenge:
                resp.add_header("www-authenticate", exc.challenge)
            if isinstance(exc, api_errors.Overloaded):
                resp.add_header("retry-after", str(exc.retry_after))
        except Exception as exc:
            if is_unreachable(exc):
                # The database is down or cut off: nothing was changed (a write's
                # transaction did not commit, or its outcome is read back with
                # GET), and the answer is "retry", not "corral is broken".
                LOG.warning("%s %s: the database cannot be reached: %s", method, path, exc)
                if browser:
                    return dashboard_render.error_page(
                        503, "Service Unavailable", "The database cannot be reached; retry."
                    )
                resp = self._error(
                    503,
                    "The database cannot be reached; retry in a moment.",
                    None,
                    version,
                    request_id,
                    method,
                )
                resp.add_header("retry-after", str(RETRY_AFTER_SECONDS))
            else:
                LOG.exception("unhandled error in %s %s", method, path)
                if browser:
                    return dashboard_render.error_page(500, "Internal Error", "Internal error.")
                resp = self._error(500, "Internal error.", None, version, request_id, method)
                # Upstream's fault wrapper sits outside the microversion middleware.
                version = None
        if version is not None:
            resp.add_header(microversion.HEADER, f"placement {version}")
            if vary:
                resp.add_header("vary", microversion.HEADER)
        return resp

    def _check_limits(self, scope: Scope, path: str) -> None:
        qs: bytes = scope.get("query_string", b"")
        # As counted on the wire: "name: value\r\n" per header, plus the request line.
        head = len(scope.get("raw_path", b"")) + len(qs) + len(scope["method"]) + 12
        head += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if head > self.limits.max_header_bytes:
            raise api_errors.HeadersTooLarge(
                f"Request line and headers are {head} bytes; "
                f"the limit is {self.limits.max_header_bytes}."
            )
        if len(qs) > self.limits.max_query_bytes:
            raise BadRequest(
                f"Query string is {len(qs)} bytes; the limit is {self.limits.max_query_bytes}."
            )
        if len(path.encode()) > self.limits.max_path_bytes:
            raise BadRequest(f"Path is longer than {self.limits.max_path_bytes} bytes.")

    async def _dispatch(
        self,
        method: str,
        path: str,
        scope: Scope,
        headers: dict[str, str],
        body: bytes,
        version: microversion.Version,
        context: RequestContext,
        *,
        bounded: bool = True,
    ) -> Response:
        match = self.router.match(path)
        if match is None:
            # Upstream's router gives no detail beyond WebOb's stock sentence.
            raise api_errors.RouteNotFound("")
        route, params = match
        handler = route.methods.get(method)
        if handler is None:
            raise api_errors.MethodNotAllowed(
                "The method specified is not allowed for this resource.", route.allow
            )
        gate = getattr(handler, "__corral_versions__", None)
        if gate is not None and not gate[0] <= version <= gate[1]:
            # As upstream's version_handler: the bare WebOb error, no detail, no Allow.
            if gate[2] == 405:
                raise api_errors.MethodNotAllowed("", None)
            raise api_errors.RouteNotFound("")
        clen = headers.get("content-length")
        if clen and not clen.isdigit():
            raise BadRequest("content-length header must be an integer")
        if clen and int(clen) > 0 and not headers.get("content-type"):
            raise BadRequest("content-type header required when content-length > 0")
        qs = scope.get("query_string", b"").decode("latin-1")
        try:
            query = parse_qsl(qs, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("Query string is not valid UTF-8.") from None
        if len(query) > self.limits.max_query_params:
            raise BadRequest(
                f"{len(query)} query parameters; the limit is {self.limits.max_query_params}."
            )
        req = Request(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            version=version,
            context=context,
            request_id=context.request_id,
            services=self.services,
            path_params=params,
            client=(scope.get("client") or (None,))[0],
        )
        declared = accepted(handler)
        if declared is not None:
            req.body_schema = declared.body_for(version.minor)
            req.query_schema = declared.query_for(version.minor)
        limiter = self.limiter if bounded else self.unbounded_limiter
        return await anyio.to_thread.run_sync(handler, req, limiter=limiter)

    @staticmethod
    def _error(
        status: int,
        detail: str,
        code: str | None,
        version: microversion.Version | None,
        request_id: str,
        method: str,
    ) -> Response:
        body = api_errors.error_body(
            status, detail, code=code, version=version, request_id=request_id, method=method
        )
        return json_response(body, status)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for fn in self.on_startup:
                    fn()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for fn in self.on_shutdown:
                    fn()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _absolute_location(resp: Response, scope: Scope, headers: dict[str, str]) -> None:
    """Make a path-only Location absolute, as upstream's WSGI stack (webob) sends it
    and clients (and the upstream suite) expect."""
    for i, (name, value) in enumerate(resp.headers):
        if name.lower() == "location" and value.startswith("/"):
            server = scope.get("server") or ("localhost", None)
            host = headers.get("host") or (
                f"{server[0]}:{server[1]}" if server[1] is not None else str(server[0])
            )
            resp.headers[i] = (name, f"{scope.get('scheme', 'http')}://{host}{value}")


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise api_errors.PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, resp: Response, *, head_only: bool) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers]
    if resp.content_type and resp.status != 204:
        headers.append((b"content-type", resp.content_type.encode()))
    body = resp.body if resp.status not in (204, 304) else b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body})


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)
