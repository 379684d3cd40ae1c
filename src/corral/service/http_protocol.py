"""The HTTP/1.1 protocol corral serves with: uvicorn's h11 one, with Placement error bodies.

A request the HTTP parser itself rejects never reaches the ASGI app, so
uvicorn answers it with a plain-text "Invalid HTTP request received.". Placement
clients expect the Placement error format, and for a Content-Length that is no
integer upstream says "content-length header must be an integer". This
protocol answers such requests in that format, with h11's status hint: 400, or
431 when the request line and headers outgrow `h11_max_incomplete_event_size`
(`[api] max_header_bytes`), which is also what bounds the memory a slow client
can make the server hold for an unfinished header block.

h11 rather than httptools: httptools puts no bound on the header block and
does not say what was wrong with a request.
"""

from __future__ import annotations

import sys
import uuid
from http import HTTPStatus
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from corral.api import errors as api_errors

_CONTENT_LENGTH_DETAIL = "content-length header must be an integer"


def parser_error_detail(exc: BaseException | None, fallback: str) -> tuple[int, str]:
    """Status and Placement error detail for a request h11 refused to parse."""
    if not isinstance(exc, h11.RemoteProtocolError):
        return 400, fallback
    message = str(exc)
    if "content-length" in message.lower():
        return 400, _CONTENT_LENGTH_DETAIL
    if exc.error_status_hint == 431:
        return 431, "Request line and headers are larger than the server accepts."
    return exc.error_status_hint, f"Invalid HTTP request: {message}."


def parser_error_response(
    exc: BaseException | None, fallback: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and Placement error body answering an unparseable request."""
    status, detail = parser_error_detail(exc, fallback)
    request_id = f"req-{uuid.uuid4()}"
    body = orjson.dumps(api_errors.error_body(status, detail, request_id=request_id))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-openstack-request-id", request_id.encode()),
        (b"connection", b"close"),
    ]
    return status, headers, body


class PlacementH11Protocol(H11Protocol):
    """uvicorn's h11 protocol; only the answer to unparseable requests differs."""

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this from inside its `except h11.RemoteProtocolError`
        # block, so the parser's exception is the one being handled.
        status, headers, body = parser_error_response(sys.exception(), msg)
        events: list[Any] = [
            h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ]
        for event in events:
            output = self.conn.send(event)
            if output:
                self.transport.write(output)
        self.transport.close()


def uvicorn_options(max_header_bytes: int) -> dict[str, Any]:
    """The uvicorn settings corral serves with (`corral serve`, and the tests' servers)."""
    return {"http": PlacementH11Protocol, "h11_max_incomplete_event_size": max_header_bytes}
