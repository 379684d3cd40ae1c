"""No module is imported by a name that is not written in the source.

Walks the AST of every file of the corral package and fails on
importlib.import_module / __import__ / importlib.util loaders with a
non-constant name, any stevedore use, entry-point loading, and exec/eval.
Filters, weighers and drivers come from static registries instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import corral

PACKAGE = Path(corral.__file__).parent

IMPORT_CALLS = {"import_module", "__import__"}
# Loaders that turn a path or name into a module object, whatever the argument.
ALWAYS_BANNED_CALLS = {
    "spec_from_file_location",
    "module_from_spec",
    "SourceFileLoader",
    "load_source",
    "run_path",
    "run_module",
    "load_entry_point",
    "entry_points",
    "iter_entry_points",
    "exec",
    "eval",
    # stevedore's managers load plugins by a name given at run time.
    "DriverManager",
    "ExtensionManager",
    "NamedExtensionManager",
    "EnabledExtensionManager",
    "HookManager",
    "DispatchExtensionManager",
}
BANNED_MODULES = {"stevedore", "pkg_resources", "imp", "runpy"}


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def violations(source: str, filename: str = "<string>") -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in BANNED_MODULES:
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in BANNED_MODULES:
                found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            name = _callee(node)
            if name in IMPORT_CALLS:
                first = node.args[0] if node.args else None
                if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
                    found.append(f"{where}: {name}() with a non-constant name")
            elif name in ALWAYS_BANNED_CALLS:
                found.append(f"{where}: {name}()")
    return found


def test_detector_catches_dynamic_loading() -> None:
    bad = """
import importlib
import stevedore
from stevedore import driver
mod = importlib.import_module(conf.filter_module)
other = __import__(name)
cls = driver.DriverManager("corral.filters", name).driver
exec(code)
importlib.util.spec_from_file_location("x", path)
"""
    found = violations(bad)
    assert len(found) == 7, found
    assert violations("import importlib\nimportlib.import_module('json')\n") == []


def test_package_loads_no_module_by_computed_name() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    found: list[str] = []
    for path in files:
        found.extend(violations(path.read_text(), str(path.relative_to(PACKAGE.parent))))
    assert found == []
