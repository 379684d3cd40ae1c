"""Shared fixtures: a database on each backend and an HTTP client for the app.

PostgreSQL tests skip with a reason when the server is absent, unless
CORRAL_REQUIRE_SERVICES=1 (as in CI), where an absent server is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from corral.conf import new_conf
from corral.service.appfactory import build_app
from corral.service.profiles import apply_profile
from corral.store import migrate, tables
from corral.store.database import Database

PG_ADMIN_URL = os.environ.get(
    "CORRAL_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("CORRAL_REQUIRE_SERVICES") == "1"
RABBIT_URL = os.environ.get("CORRAL_TEST_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
NOVA_VERSION = "34.0.0"
NOVA_VENV = Path(os.environ.get("CORRAL_NOVA_VENV", Path.home() / ".cache" / "corral-nova34-venv"))
# Keystone of the same OpenStack cycle as nova 34.0.0 and openstack-placement
# 16.0.0 (2026.2), for the suite against a real Keystone (tests/functional/
# test_keystone_real.py).
KEYSTONE_VERSION = "30.0.0"
KEYSTONE_VENV = Path(
    os.environ.get("CORRAL_KEYSTONE_VENV", Path.home() / ".cache" / "corral-keystone-venv")
)
# What OpenStack's services use to reach MariaDB and PostgreSQL (oslo.db's
# default drivers), absent from a virtualenv holding only nova or placement.
DB_DRIVERS = ("PyMySQL", "psycopg2-binary")


def _service_missing(what: str, why: Exception) -> None:
    msg = f"{what} is not reachable ({why.__class__.__name__}: {why})"
    if REQUIRE_SERVICES:
        pytest.fail(f"CORRAL_REQUIRE_SERVICES=1 but {msg}")
    pytest.skip(msg)


def with_db_drivers(python: Path, what: str) -> Path:
    """`python`, its virtualenv holding PyMySQL and psycopg2: pip-installed
    there when missing; when that install fails, `what` is a missing service."""
    probe = subprocess.run(
        [str(python), "-c", "import pymysql, psycopg2"], check=False, capture_output=True
    )
    if probe.returncode != 0:
        try:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *DB_DRIVERS],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            _service_missing(f"PyMySQL and psycopg2 for {what}", exc)
    return python


@pytest.fixture(scope="session")
def nova_python() -> Path:
    """The Nova virtualenv's interpreter (NOVA_VENV), building the virtualenv
    with nova==NOVA_VERSION from PyPI when absent."""
    return _venv_with(NOVA_VENV, "nova", NOVA_VERSION)


@pytest.fixture(scope="session")
def keystone_python() -> Path:
    """The Keystone virtualenv's interpreter (KEYSTONE_VENV), building the
    virtualenv with keystone==KEYSTONE_VERSION from PyPI when absent. Keystone
    needs nothing more to serve on SQLite with fernet tokens: its WSGI
    application runs under the standard library's server."""
    return _venv_with(KEYSTONE_VENV, "keystone", KEYSTONE_VERSION)


def _venv_with(venv: Path, package: str, version: str) -> Path:
    """`venv`'s interpreter, the virtualenv made and `package==version`
    installed from PyPI when it does not hold that version already."""
    python = venv / "bin" / "python"
    if _installed(python, package, version):
        return python
    started = time.monotonic()
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)],
            check=True,
            timeout=300,
            capture_output=True,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"{package}=={version}"],
            check=True,
            timeout=1200,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        _service_missing(f"a virtualenv with {package}=={version} from PyPI", exc)
    print(f"built {venv} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return python


def _installed(python: Path, package: str, version: str) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return probe.returncode == 0 and probe.stdout.strip() == version


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    """The RabbitMQ the RPC tests talk to, once it answers on 127.0.0.1:5672."""
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=3).close()
    except OSError as exc:
        _service_missing("RabbitMQ at 127.0.0.1:5672", exc)
    return RABBIT_URL


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session."""
    name = f"corral_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        _service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(db: Database) -> None:
    keep = {"resource_classes", "traits"}
    with db.write() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            if table.name not in keep:
                conn.execute(table.delete())
        conn.execute(tables.resource_classes.delete().where(tables.resource_classes.c.id >= 10000))
        conn.execute(
            tables.traits.delete().where(tables.traits.c.name.like("CUSTOM\\_%", escape="\\"))
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'corral.db'}"
        migrate.upgrade(Database(url))
        return url
    url: str = request.getfixturevalue("pg_server_url")
    db = Database(url)
    migrate.upgrade(db)
    _truncate(db)
    db.dispose()
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


class PlacementClient:
    """An in-process HTTP client with Placement's headers filled in."""

    def __init__(self, client: TestClient, version: str = "latest", token: str = "admin") -> None:
        self.client = client
        self.version = version
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        *,
        version: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        hdrs = {
            "x-auth-token": self.token,
            "openstack-api-version": f"placement {version or self.version}",
            "accept": "application/json",
        }
        if "json" in kwargs:
            hdrs["content-type"] = "application/json"
        hdrs.update(headers or {})
        return self.client.request(method, path, headers=hdrs, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


def make_client(database_url: str, profile: str = "default") -> tuple[TestClient, Any]:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    overrides = apply_profile(conf, profile)
    app = build_app(conf, database_url, policy_overrides=overrides)
    return TestClient(app), app


@pytest.fixture
def api(database_url: str) -> Iterator[PlacementClient]:
    """A Placement client (admin, latest microversion) over a fresh database."""
    client, _app = make_client(database_url)
    with client:
        yield PlacementClient(client)
