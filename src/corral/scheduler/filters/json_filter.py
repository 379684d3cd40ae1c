"""JsonFilter: hosts chosen by a JSON query in the `query` scheduler hint."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from corral.scheduler.batch import HostBatch, Mask
from corral.scheduler.filters import attributes
from corral.scheduler.filters.base import HostFilter, scheduler_hint
from corral.scheduler.spec import RequestSpec

# Bounds on a query: it is user input evaluated once per host.
MAX_QUERY_DEPTH = 32
MAX_QUERY_TERMS = 1000


class InvalidQuery(ValueError):
    pass


def _op_compare(args: list[Any], op: Callable[[Any, Any], Any]) -> bool:
    """Nova: True when the first argument compares true against all the others."""
    if len(args) < 2:
        return False
    if op is operator.contains:
        return args[0] in args[1:]
    try:
        return all(op(args[0], arg) for arg in args[1:])
    except TypeError:  # Python 3 cannot order e.g. str and int; Nova would raise
        return False


_COMMANDS: dict[str, Callable[[list[Any]], Any]] = {
    "=": lambda args: _op_compare(args, operator.eq),
    "<": lambda args: _op_compare(args, operator.lt),
    ">": lambda args: _op_compare(args, operator.gt),
    "in": lambda args: _op_compare(args, operator.contains),
    "<=": lambda args: _op_compare(args, operator.le),
    ">=": lambda args: _op_compare(args, operator.ge),
    "not": lambda args: [not arg for arg in args],
    "or": any,
    "and": all,
}


def parse_query(text: object) -> list[Any]:
    """The hint decoded and checked: a list whose head is a known command, nested
    lists alike, within the depth and size bounds."""
    if not isinstance(text, str):
        raise InvalidQuery("the query hint must be one JSON string")
    try:
        query = json.loads(text)
    except ValueError as exc:
        raise InvalidQuery(f"the query hint is not JSON: {exc}") from exc
    if not isinstance(query, list):
        raise InvalidQuery("the query must be a JSON list")
    terms = 0

    def check(node: list[Any], depth: int) -> None:
        nonlocal terms
        if depth > MAX_QUERY_DEPTH:
            raise InvalidQuery(f"the query is nested deeper than {MAX_QUERY_DEPTH}")
        if not node:
            return
        if not isinstance(node[0], str) or node[0] not in _COMMANDS:
            raise InvalidQuery(f"unknown query command {node[0]!r}")
        for arg in node[1:]:
            terms += 1
            if terms > MAX_QUERY_TERMS:
                raise InvalidQuery(f"the query has more than {MAX_QUERY_TERMS} terms")
            if isinstance(arg, list):
                check(arg, depth + 1)

    check(query, 1)
    return query


def _lookup(batch: HostBatch, row: int, text: str) -> Any:
    """Nova's _parse_string: `$attr.key.key` reads the HostState, else the text itself."""
    if not text:
        return None
    if not text.startswith("$"):
        return text
    path = text[1:].split(".")
    obj: Any = attributes.attribute(batch, row, path[0])
    for item in path[1:]:
        if obj is None:
            return None
        obj = obj.get(item) if isinstance(obj, Mapping) else None
    return obj


def evaluate(query: list[Any], batch: HostBatch, row: int) -> Any:
    """Nova's _process_filter: arguments that read as None are dropped."""
    if not query:
        return True
    args: list[Any] = []
    for arg in query[1:]:
        if isinstance(arg, list):
            arg = evaluate(arg, batch, row)
        elif isinstance(arg, str):
            arg = _lookup(batch, row, arg)
        if arg is not None:
            args.append(arg)
    return _COMMANDS[query[0]](args)


class JsonFilter(HostFilter):
    """Nova's JSON grammar: `["and", [">=", "$free_ram_mb", 1024], ...]`.

    Commands: = < > in <= >= not or and. `$name` reads a HostState attribute
    (corral.scheduler.filters.attributes lists them), `$name.key` a key of a
    dict attribute. A host passes when the result (any of it, for a list) is
    true. A query that is not valid JSON, uses an unknown command or exceeds
    the bounds fails every host, where Nova would fail the request.
    """

    name = "JsonFilter"

    def _query(self, spec: RequestSpec) -> list[Any] | None:
        text = scheduler_hint(spec, "query")
        if not text:
            return None
        return parse_query(text)

    def host_mask(self, batch: HostBatch, spec: RequestSpec) -> Mask:
        try:
            query = self._query(spec)
        except InvalidQuery:
            return np.zeros(len(batch), dtype=np.bool_)
        if query is None:
            return np.ones(len(batch), dtype=np.bool_)
        return np.fromiter(
            (self._passes(query, batch, row) for row in range(len(batch))),
            dtype=np.bool_,
            count=len(batch),
        )

    @staticmethod
    def _passes(query: list[Any], batch: HostBatch, row: int) -> bool:
        result = evaluate(query, batch, row)
        if isinstance(result, list):
            result = any(result)
        return bool(result)

    def reasons(self, batch: HostBatch, spec: RequestSpec, passed: Mask) -> list[str]:
        try:
            self._query(spec)
        except InvalidQuery as exc:
            reason = f"invalid query hint: {exc}"
        else:
            reason = "does not match the query hint"
        return [reason] * int(np.count_nonzero(~passed))
