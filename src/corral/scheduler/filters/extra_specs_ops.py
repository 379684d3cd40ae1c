"""Nova's extra_specs_ops.match: the operator language of extra spec values.

`value` is what the host (or aggregate) has, `req` the flavor's requirement:
"<op> operand...", or a plain string compared for equality. Operators:
`=` (numerically at least), `==`, `!=`, `>=`, `<=` (numeric), `s==`, `s!=`,
`s<`, `s<=`, `s>`, `s>=` (string), `<in>` (substring), `<all-in>` (every
operand in value), `<or>` (equals any alternative).

Where Nova's code would raise (a numeric operator on text, `<or>` with
nothing after it) the requirement is not met instead.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda x, y: float(x) >= float(y),
    "<in>": lambda x, y: y in x,
    "<all-in>": lambda x, y: all(val in x for val in y),
    "==": lambda x, y: float(x) == float(y),
    "!=": lambda x, y: float(x) != float(y),
    ">=": lambda x, y: float(x) >= float(y),
    "<=": lambda x, y: float(x) <= float(y),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


def match(value: str | None, req: str) -> bool:
    try:
        return _match(value, req)
    except (ValueError, TypeError, IndexError):
        return False


def _match(value: str | None, req: str) -> bool:
    words = req.split()
    op = method = None
    if words:
        op = words.pop(0)
        method = _OPS.get(op)

    if op != "<or>" and not method:
        return value == req
    if value is None:
        return False

    if op == "<or>":  # <or> v1 <or> v2 <or> v3
        while True:
            if words.pop(0) == value:
                return True
            if not words:
                break
            words.pop(0)  # the next "<or>"
            if not words:
                break
        return False

    assert method is not None
    if words:
        if op == "<all-in>":
            return bool(method(value, words))
        return bool(method(value, words[0]))
    return False
