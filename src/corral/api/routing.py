"""Path templates to handlers, with 404 for unknown paths and 405 for unknown methods."""

from __future__ import annotations

import re
from dataclasses import dataclass

from corral.api.http import Handler


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    methods: dict[str, Handler]

    @property
    def allow(self) -> str:
        return ", ".join(self.methods)


def compile_template(template: str) -> re.Pattern[str]:
    """`/resource_providers/{uuid}/traits` -> a regex with named groups."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.rstrip("/"))
    return re.compile(f"^{regex}/?$" if regex else "^/?$")


class Router:
    def __init__(self, table: list[tuple[str, dict[str, Handler]]]) -> None:
        self.routes = [Route(t, compile_template(t), methods) for t, methods in table]
        self._static = {
            r.template.rstrip("/") or "/": r for r in self.routes if "{" not in r.template
        }

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        key = path.rstrip("/") or "/"
        route = self._static.get(key)
        if route is not None:
            return route, {}
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None
