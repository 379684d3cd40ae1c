"""DESIGN's one-way layering, checked on the imports: nothing imports a layer above it.

api/rpc -> scheduler -> compute, placement -> store. corral.compute (Nova's
records) sits on placement's floor: both may use the store, compute may use
placement, and neither may reach the scheduler or the front doors.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "corral"

# package -> the corral packages it must never import
FORBIDDEN = {
    "store": ("placement", "compute", "scheduler", "api", "rpc", "service"),
    "placement": ("compute", "scheduler", "api", "rpc", "service"),
    "compute": ("scheduler", "api", "rpc", "service"),
    "scheduler": ("api", "rpc", "service"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_runs_up(package: str) -> None:
    above = tuple(f"corral.{p}" for p in FORBIDDEN[package])
    wrong = sorted(
        f"{path.relative_to(SRC)}: {name}"
        for path in (SRC / package).rglob("*.py")
        for name in _imports(path)
        if name.startswith(above) and name.split(".")[1] in FORBIDDEN[package]
    )
    assert wrong == []
