"""The parts of an RPC message around its arguments: its size and its context.

oslo.messaging has parsed the message's JSON before an endpoint runs, so the
first thing corral does with a message is measure it, arguments and context
together, as compact JSON: over [scheduler] max_rpc_message_bytes it is
refused before any of it is decoded. The measure also refuses values nested
too deep to serialise (orjson stops at 255 levels).

The context is Nova's RequestContext.to_dict(); corral reads only the ids it
logs, and checks those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from corral.rpc.errors import InvalidMessage

_REQUEST_ID = re.compile(r"^req-[0-9a-fA-F-]{36}$")
MAX_CONTEXT_KEYS = 256


def check_size(ctxt: object, args: Mapping[str, object], limit: int) -> int:
    """The message's size in bytes as compact JSON; InvalidMessage when over `limit`."""
    try:
        size = len(orjson.dumps({"context": ctxt, "args": args}))
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise InvalidMessage("message", f"cannot be measured: {exc}") from None
    if size > limit:
        raise InvalidMessage(
            "message",
            f"{size} bytes; [scheduler] max_rpc_message_bytes allows {limit}",
        )
    return size


@dataclass(frozen=True)
class CallContext:
    """What corral keeps of Nova's request context: ids for the log."""

    request_id: str | None = None
    global_request_id: str | None = None
    project_id: str | None = None

    def __str__(self) -> str:
        return self.global_request_id or self.request_id or "-"


def _short(ctxt: Mapping[str, object], key: str, pattern: re.Pattern[str] | None) -> str | None:
    value = ctxt.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255 or (pattern and not pattern.match(value)):
        raise InvalidMessage(f"context.{key}", "malformed")
    return value


def read_context(ctxt: object) -> CallContext:
    if not isinstance(ctxt, Mapping):
        raise InvalidMessage("context", "not an object")
    if len(ctxt) > MAX_CONTEXT_KEYS:
        raise InvalidMessage("context", f"{len(ctxt)} keys")
    return CallContext(
        request_id=_short(ctxt, "request_id", _REQUEST_ID),
        global_request_id=_short(ctxt, "global_request_id", _REQUEST_ID),
        project_id=_short(ctxt, "project_id", None),
    )
