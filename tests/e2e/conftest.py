"""The end-to-end Nova cloud, one per test module.

It needs MariaDB on 127.0.0.1:3306, RabbitMQ on 127.0.0.1:5672 with
rabbitmqctl on PATH, and the Nova 34 virtualenv (built from PyPI when
absent, with PyMySQL and openstacksdk). Without one of them the tests skip,
unless CORRAL_REQUIRE_SERVICES=1, where that is a failure. Each process's
log stays under the module's temporary directory (logs/), and the tail of
every log is printed when a test fails.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.candidates import upstream_venv

from tests.conftest import NOVA_VENV, _service_missing, with_db_drivers
from tests.e2e.cloud import NovaCloud


def _reachable(port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except OSError as exc:
        _service_missing(f"127.0.0.1:{port}", exc)


def with_sdk(python: Path) -> Path:
    probe = subprocess.run([str(python), "-c", "import openstack"], capture_output=True)
    if probe.returncode != 0:
        try:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "openstacksdk"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            _service_missing(f"openstacksdk in {NOVA_VENV}", exc)
    return python


def placement_python() -> Path:
    """openstack-placement 16.0.0's interpreter (its virtualenv built from PyPI
    when absent, as bench/candidates.py builds it), with PyMySQL."""
    try:
        venv = upstream_venv()
    except (subprocess.SubprocessError, OSError) as exc:
        _service_missing("a virtualenv with openstack-placement==16.0.0 from PyPI", exc)
    return with_db_drivers(venv / "bin" / "python", f"the Placement 16 virtualenv at {venv}")


def _running(tmp: Path, nova_python: Path, stack: str, **options: Any) -> Iterator[NovaCloud]:
    _reachable(3306)
    _reachable(5672)
    python = with_sdk(with_db_drivers(nova_python, f"the Nova 34 virtualenv at {NOVA_VENV}"))
    upstream = placement_python() if stack == "upstream" else None
    running = NovaCloud(tmp, python, stack=stack, placement_python=upstream, **options)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def cloud(
    request: pytest.FixtureRequest, nova_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NovaCloud]:
    """A cloud on corral from its first boot; a module's CLOUD_OPTIONS (a
    dict), if it has one, are NovaCloud's keyword arguments."""
    options = getattr(request.module, "CLOUD_OPTIONS", {})
    yield from _running(tmp_path_factory.mktemp("nova-cloud"), nova_python, "corral", **options)


@pytest.fixture(scope="module")
def upstream_cloud(
    nova_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NovaCloud]:
    """A cloud on nova-scheduler and upstream Placement 16, to be adopted."""
    yield from _running(tmp_path_factory.mktemp("nova-cloud-upstream"), nova_python, "upstream")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    cloud = funcargs.get("cloud") or funcargs.get("upstream_cloud")
    if report.failed and isinstance(cloud, NovaCloud):
        for name in ("corral", "nova-scheduler", "nova-conductor", "nova-api"):
            report.sections.append((f"{name} log (tail)", cloud.log(name)[-4000:]))
