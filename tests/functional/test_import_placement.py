"""`corral db import-placement`: a database that upstream Placement 16.0.0
filled through its own API, copied into corral and read back through corral's
Placement API.

Upstream runs from the virtualenv bench/candidates.py uses (built once from
PyPI under ~/.cache, skipped or failed per CORRAL_REQUIRE_SERVICES when that
cannot be done), served by wsgiref on a fresh SQLite database the way
../shared/conformance/serve_upstream.sh serves it. The MariaDB and PostgreSQL
sources get upstream's own schema (`placement-manage db sync`) and the rows of
that SQLite database.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.candidates import (
    _UPSTREAM_SERVER,
    build_upstream_db,
    free_port,
    serve,
    upstream_venv,
)
from sqlalchemy import create_engine, func, select, text

from corral.store import import_placement as imp
from corral.store import migrate, tables
from corral.store.database import Database
from tests.conftest import (
    PG_ADMIN_URL,
    PlacementClient,
    _service_missing,
    make_client,
    with_db_drivers,
)

ROOT = Path(__file__).resolve().parents[2]
CORRAL = str(Path(sys.executable).with_name("corral"))
VERSION = "placement 1.39"
MARIADB = ("127.0.0.1", 3306)

CN1, CN2, NUMA0, BARE = (str(uuidlib.uuid4()) for _ in range(4))
AGG1, AGG2 = str(uuidlib.uuid4()), str(uuidlib.uuid4())
PROJECT_A, PROJECT_B = uuidlib.uuid4().hex, uuidlib.uuid4().hex
USER_A, USER_B = uuidlib.uuid4().hex, uuidlib.uuid4().hex
INSTANCE_1, INSTANCE_2, MIGRATION, GONE = (str(uuidlib.uuid4()) for _ in range(4))


# --- upstream, filled through its API --------------------------------------------------


@pytest.fixture(scope="module")
def venv() -> Path:
    try:
        return upstream_venv()
    except (subprocess.SubprocessError, OSError) as exc:
        _service_missing("a virtualenv with openstack-placement==16.0.0 from PyPI", exc)
    raise AssertionError("unreachable")


class Upstream:
    """A small HTTP client for upstream's wsgiref server (HTTP/1.0, one request each)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(
            base_url=url,
            headers={"x-auth-token": "admin", "openstack-api-version": VERSION},
            timeout=60,
        )

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        resp = self.http.request(method, path, json=body)
        assert resp.status_code == expect, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def generation(self, rp: str) -> int:
        return int(self.call("GET", f"/resource_providers/{rp}")["generation"])


def _fill(up: Upstream) -> None:
    """A small cloud with one of everything import-placement copies."""
    up.call("POST", "/resource_classes", {"name": "CUSTOM_FPGA"}, 201)
    up.call("POST", "/resource_classes", {"name": "CUSTOM_UNUSED"}, 201)
    up.call("PUT", "/traits/CUSTOM_RAID", None, 201)
    up.call("PUT", "/traits/CUSTOM_NOT_SET", None, 201)
    for uuid, name, parent in (
        (CN1, "cn1", None),
        (CN2, "cn2", None),
        (NUMA0, "cn1_numa0", CN1),
        (BARE, "bare", None),
    ):
        body = {"uuid": uuid, "name": name}
        if parent:
            body["parent_provider_uuid"] = parent
        up.call("POST", "/resource_providers", body, 200)

    def inventories(rp: str, inv: dict[str, Any]) -> None:
        body = {"resource_provider_generation": up.generation(rp), "inventories": inv}
        up.call("PUT", f"/resource_providers/{rp}/inventories", body)

    inventories(
        CN1,
        {
            "VCPU": {"total": 16, "reserved": 1, "allocation_ratio": 4.0, "max_unit": 16},
            "MEMORY_MB": {"total": 32768, "reserved": 512, "max_unit": 16384, "step_size": 256},
            "DISK_GB": {"total": 500, "min_unit": 5, "allocation_ratio": 1.5},
        },
    )
    inventories(CN2, {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 16384}})
    inventories(NUMA0, {"CUSTOM_FPGA": {"total": 4, "max_unit": 2}})
    for rp, traits in ((CN1, ["HW_CPU_X86_AVX2", "CUSTOM_RAID"]), (NUMA0, ["CUSTOM_RAID"])):
        body = {"resource_provider_generation": up.generation(rp), "traits": traits}
        up.call("PUT", f"/resource_providers/{rp}/traits", body)
    for rp, aggs in ((CN1, [AGG1, AGG2]), (CN2, [AGG1])):
        body = {"resource_provider_generation": up.generation(rp), "aggregates": aggs}
        up.call("PUT", f"/resource_providers/{rp}/aggregates", body)

    def allocate(consumer: str, allocs: dict[str, Any], owner: tuple[str, str], kind: str) -> None:
        current = up.call("GET", f"/allocations/{consumer}").get("consumer_generation")
        body = {
            "allocations": {rp: {"resources": res} for rp, res in allocs.items()},
            "project_id": owner[0],
            "user_id": owner[1],
            "consumer_generation": current,
            "consumer_type": kind,
        }
        up.call("PUT", f"/allocations/{consumer}", body, 204)

    owner_a, owner_b = (PROJECT_A, USER_A), (PROJECT_B, USER_B)
    allocate(INSTANCE_1, {CN1: {"VCPU": 2, "MEMORY_MB": 2048}, NUMA0: {"CUSTOM_FPGA": 1}},
             owner_a, "INSTANCE")  # fmt: skip
    # Written three times: its consumer generation is 3 and the providers' move on.
    for vcpus in (1, 2, 4):
        allocate(INSTANCE_2, {CN2: {"VCPU": vcpus, "MEMORY_MB": 1024}}, owner_b, "INSTANCE")
    allocate(MIGRATION, {CN1: {"VCPU": 1, "DISK_GB": 20}}, owner_a, "MIGRATION")
    allocate(GONE, {CN2: {"VCPU": 1}}, owner_b, "INSTANCE")
    up.call("DELETE", f"/allocations/{GONE}", None, 204)


QUERIES = [
    "/resource_providers",
    "/resource_providers?in_tree=" + CN1,
    "/resource_providers?member_of=" + AGG1,
    "/resource_providers?required=CUSTOM_RAID",
    "/resource_providers?resources=VCPU:2,MEMORY_MB:1024",
    *(
        f"/resource_providers/{rp}{tail}"
        for rp in (CN1, CN2, NUMA0, BARE)
        for tail in ("", "/inventories", "/usages", "/traits", "/aggregates", "/allocations")
    ),
    *(f"/allocations/{c}" for c in (INSTANCE_1, INSTANCE_2, MIGRATION, GONE)),
    f"/usages?project_id={PROJECT_A}",
    f"/usages?project_id={PROJECT_B}&user_id={USER_B}",
    "/resource_classes",
    "/traits?name=startswith:CUSTOM_",
    "/traits?associated=true",
    "/allocation_candidates?resources=VCPU:1,MEMORY_MB:512",
    "/allocation_candidates?resources=VCPU:1&required=CUSTOM_RAID",
    "/allocation_candidates?resources=VCPU:1&resources1=CUSTOM_FPGA:1&group_policy=none",
    f"/allocation_candidates?resources=VCPU:1&member_of={AGG2}",
]


def _normalise(body: Any) -> Any:
    """Order-free form of an answer: lists whose order Placement does not
    promise are sorted (providers by uuid, names, candidates)."""
    if isinstance(body, dict):
        return {k: _normalise(v) for k, v in body.items()}
    if isinstance(body, list):
        items = [_normalise(v) for v in body]
        return sorted(items, key=repr)
    return body


@dataclass(frozen=True)
class Source:
    db: Path  # upstream's SQLite database, as upstream left it
    answers: dict[str, Any]  # path -> upstream's normalised answer


@pytest.fixture(scope="module")
def upstream(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Source:
    state = tmp_path_factory.mktemp("upstream")
    db = build_upstream_db(venv, state)
    port = free_port()
    cmd = [str(venv / "bin/python"), "-c", _UPSTREAM_SERVER, str(port)]
    with serve(cmd, port, {"OS_PLACEMENT_CONFIG_DIR": str(state)}) as url:
        up = Upstream(url)
        _fill(up)
        answers = {q: _normalise(up.call("GET", q)) for q in QUERIES}
        up.http.close()
    return Source(db, answers)


# --- running the import ----------------------------------------------------------------


def run_import(
    source: str, target: str, *, extra_path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    paths = [str(ROOT / "src"), *([extra_path] if extra_path else [])]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [CORRAL, "db", "import-placement", "--from", source, "--database", target],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )


def assert_same_as_upstream(target: str, source: Source) -> None:
    """Every recorded query answers through corral as it did through upstream."""
    client, _app = make_client(target)
    with client:
        api = PlacementClient(client, version=VERSION.split()[1])
        differ = {}
        for query, wanted in source.answers.items():
            resp = api.get(query)
            got = _normalise(resp.json())
            if got != wanted:
                differ[query] = (wanted, got)
        assert not differ, differ


def provider_count(url: str) -> int:
    db = Database(url)
    try:
        with db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(tables.resource_providers)
                ).scalar_one()
            )
    finally:
        db.dispose()


def test_sqlite_source_read_back_through_the_api(
    upstream: Source, database_url: str, tmp_path: Path
) -> None:
    """SQLite source into each target backend; then the same import again is refused."""
    before = upstream.db.read_bytes()
    result = run_import(f"sqlite:///{upstream.db}", database_url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for entity in ("providers", "inventories", "allocations", "consumers", "traits",
                   "custom resource classes", "aggregates", "projects", "users"):  # fmt: skip
        line = next(ln for ln in out.splitlines() if ln.startswith(entity + " "))
        assert " OK" in line, out
    assert "MISMATCH" not in out
    assert "(4 providers compared)" in out
    assert "allocations" in result.stderr  # the progress bars
    assert upstream.db.read_bytes() == before, "the source was written to"
    assert_same_as_upstream(database_url, upstream)

    again = run_import(f"sqlite:///{upstream.db}", database_url)
    assert again.returncode == 2
    assert "already holds 4 resource providers" in again.stderr
    assert provider_count(database_url) == 4


def test_generations_survive_and_claims_go_on(upstream: Source, tmp_path: Path) -> None:
    """What Nova's report client sends back after the switch: the generations
    it last read from upstream, which corral accepts."""
    target = f"sqlite:///{tmp_path / 'corral.db'}"
    assert run_import(f"sqlite:///{upstream.db}", target).returncode == 0
    cn2 = upstream.answers[f"/resource_providers/{CN2}"]
    held = upstream.answers[f"/allocations/{INSTANCE_2}"]
    assert held["consumer_generation"] == 3
    client, _app = make_client(target)
    with client:
        api = PlacementClient(client, version="1.39")
        body = {
            "allocations": {CN2: {"resources": {"VCPU": 2, "MEMORY_MB": 1024}}},
            "project_id": PROJECT_B,
            "user_id": USER_B,
            "consumer_generation": held["consumer_generation"],
            "consumer_type": "INSTANCE",
        }
        resp = api.put(f"/allocations/{INSTANCE_2}", json=body)
        assert resp.status_code == 204, resp.text
        inv = upstream.answers[f"/resource_providers/{CN2}/inventories"]
        inv_body = {
            "resource_provider_generation": cn2["generation"] + 1,
            "inventories": {**inv["inventories"], "DISK_GB": {"total": 100}},
        }
        resp = api.put(f"/resource_providers/{CN2}/inventories", json=inv_body)
        assert resp.status_code == 200, resp.text
        stale = {**body, "consumer_generation": held["consumer_generation"]}
        assert api.put(f"/allocations/{INSTANCE_2}", json=stale).status_code == 409


# --- MariaDB and PostgreSQL sources ------------------------------------------------------

_COPY_ROWS = textwrap.dedent(
    """
    import sys
    import sqlalchemy as sa

    src = sa.create_engine(sys.argv[1])
    dst = sa.create_engine(sys.argv[2])
    meta = sa.MetaData()
    meta.reflect(dst)
    with src.connect() as s, dst.begin() as d:
        if d.dialect.name == "mysql":
            # As upstream's own resource class sync does: id 0 is VCPU.
            d.execute(sa.text("SET SESSION SQL_MODE='NO_AUTO_VALUE_ON_ZERO'"))
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            cols = [sa.column(c.name) for c in table.columns]
            query = sa.select(*cols).select_from(sa.table(table.name))
            key = [sa.column(c.name) for c in table.primary_key.columns]
            rows = [dict(r._mapping) for r in s.execute(query.order_by(*key))]
            if rows:
                d.execute(table.insert(), rows)
    """
)


@pytest.fixture(scope="module")
def venv_drivers(venv: Path) -> Path:
    """The upstream virtualenv with the MySQL and PostgreSQL drivers upstream's
    deployments use (PyMySQL, psycopg2)."""
    return with_db_drivers(venv / "bin/python", "the upstream virtualenv")


def _upstream_schema(venv: Path, tmp: Path, url: str, sqlite_db: Path) -> None:
    """Upstream's schema on `url` by its own `db sync`, then the SQLite rows."""
    conf = tmp / "placement.conf"
    conf.write_text(f"[placement_database]\nconnection = {url}\n")
    subprocess.run(
        [str(venv / "bin/placement-manage"), "--config-file", str(conf), "db", "sync"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    subprocess.run(
        [str(venv / "bin/python"), "-c", _COPY_ROWS, f"sqlite:///{sqlite_db}", url],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture
def mariadb_source(venv_drivers: Path, tmp_path: Path) -> Iterator[str]:
    try:
        socket.create_connection(MARIADB, timeout=3).close()
    except OSError as exc:
        _service_missing("MariaDB at 127.0.0.1:3306", exc)
    name = f"corral_import_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    admin = textwrap.dedent(
        f"""
        import sys, pymysql
        conn = pymysql.connect(host="{MARIADB[0]}", port={MARIADB[1]}, user="root")
        conn.cursor().execute(sys.argv[1] + " DATABASE `{name}`")
        """
    )
    try:
        subprocess.run([str(venv_drivers), "-c", admin, "CREATE"], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        _service_missing("MariaDB (root, no password) at 127.0.0.1:3306", exc)
    yield f"mysql+pymysql://root@{MARIADB[0]}:{MARIADB[1]}/{name}"
    subprocess.run([str(venv_drivers), "-c", admin, "DROP"], check=False, capture_output=True)


@pytest.fixture
def postgresql_source(venv_drivers: Path) -> Iterator[str]:
    name = f"corral_import_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        _service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    # psycopg2, as an upstream deployment's oslo.db URL names it; corral reads
    # it with psycopg 3.
    yield PG_ADMIN_URL.rsplit("/", 1)[0].replace("+psycopg", "+psycopg2") + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def pymysql_dir(venv_drivers: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A directory holding only PyMySQL (from the upstream virtualenv): corral's
    lock has no MySQL driver, an operator importing from MySQL installs one."""
    found = subprocess.run(
        [str(venv_drivers), "-c", "import pymysql, os; print(os.path.dirname(pymysql.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    where = tmp_path_factory.mktemp("pymysql")
    (where / "pymysql").symlink_to(found.stdout.strip())
    return str(where)


@pytest.mark.parametrize("backend", ["mariadb", "postgresql"])
def test_server_sources(
    backend: str,
    upstream: Source,
    venv: Path,
    pymysql_dir: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    source: str = request.getfixturevalue(f"{backend}_source")
    _upstream_schema(venv, tmp_path, source, upstream.db)
    target = f"sqlite:///{tmp_path / 'corral.db'}"
    result = run_import(source, target, extra_path=pymysql_dir)
    assert result.returncode == 0, result.stderr
    assert "MISMATCH" not in result.stdout
    assert_same_as_upstream(target, upstream)


# --- refusals ----------------------------------------------------------------------------

BAD_ROWS = {
    "negative total": (
        "UPDATE inventories SET total = -5 WHERE id = (SELECT min(id) FROM inventories)",
        "source inventories row id={id}: total = -5 is outside 1..",
        "SELECT min(id) FROM inventories",
    ),
    "allocation to an unknown provider": (
        "UPDATE allocations SET resource_provider_id = 9999 "
        "WHERE id = (SELECT max(id) FROM allocations)",
        "source allocations row id={id}: resource provider id=9999 does not exist",
        "SELECT max(id) FROM allocations",
    ),
    "unknown resource class": (
        "UPDATE allocations SET resource_class_id = 77777 "
        "WHERE id = (SELECT min(id) FROM allocations)",
        "source allocations row id={id}: resource class id=77777 does not exist",
        "SELECT min(id) FROM allocations",
    ),
    "trait link to no trait": (
        "UPDATE resource_provider_traits SET trait_id = 88888 WHERE rowid = "
        "(SELECT min(rowid) FROM resource_provider_traits)",
        "trait id=88888 does not exist",
        "SELECT 0",
    ),
    "provider without a root": (
        "UPDATE resource_providers SET root_provider_id = NULL WHERE id = "
        "(SELECT max(id) FROM resource_providers WHERE parent_provider_id IS NOT NULL)",
        "source resource_providers row id={id}: root_provider_id is NULL",
        "SELECT max(id) FROM resource_providers WHERE parent_provider_id IS NOT NULL",
    ),
    "allocation without a consumer": (
        "DELETE FROM consumers WHERE uuid = '" + MIGRATION + "'",
        f"source allocations name consumer {MIGRATION}",
        "SELECT 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_source_row_is_refused_and_nothing_written(
    case: str, upstream: Source, tmp_path: Path
) -> None:
    corrupt, message, which = BAD_ROWS[case]
    bad = tmp_path / "bad.sqlite"
    shutil.copyfile(upstream.db, bad)
    conn = sqlite3.connect(bad)
    with conn:
        row_id = conn.execute(which).fetchone()[0]
        conn.execute(corrupt)
    conn.close()
    target = f"sqlite:///{tmp_path / 'corral.db'}"
    result = run_import(f"sqlite:///{bad}", target)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message.format(id=row_id) in result.stderr
    assert "nothing was imported" in result.stderr
    assert provider_count(target) == 0
    db = Database(target)
    with db.read() as c:
        for table in (tables.inventories, tables.allocations, tables.consumers):
            assert c.execute(select(func.count()).select_from(table)).scalar_one() == 0
    db.dispose()


def test_mismatch_found_before_commit_rolls_back(upstream: Source, tmp_path: Path) -> None:
    target = Database(f"sqlite:///{tmp_path / 'corral.db'}")
    migrate.upgrade(target)

    def lose_an_allocation(conn: Any) -> None:
        alloc = tables.allocations
        first = conn.execute(select(func.min(alloc.c.id))).scalar_one()
        conn.execute(alloc.delete().where(alloc.c.id == first))

    with pytest.raises(imp.ImportMismatch) as caught:
        imp.import_placement(f"sqlite:///{upstream.db}", target, before_commit=lose_an_allocation)
    report = caught.value.report
    assert not report.committed
    assert [c.entity for c in report.counts if not c.ok] == ["allocations"]
    assert report.mismatches, "the lost allocation shows in a provider's usage"
    target.dispose()
    assert provider_count(target.url) == 0


@pytest.mark.parametrize(
    "source",
    [
        "postgresql://placement:s3cretPW@127.0.0.1:1/placement",
        "mysql+pymysql://placement:s3cretPW@127.0.0.1:1/placement",
    ],
)
def test_password_never_shown(source: str, tmp_path: Path) -> None:
    result = run_import(source, f"sqlite:///{tmp_path / 'corral.db'}")
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "s3cretPW" not in output
    assert "placement:***@127.0.0.1:1" in output


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite"
    result = run_import(f"sqlite:///{missing}", f"sqlite:///{tmp_path / 'corral.db'}")
    assert result.returncode == 2
    assert f"no SQLite database at {missing}" in result.stderr
    assert not missing.exists()


def test_consumer_without_allocations_left_out(upstream: Source, tmp_path: Path) -> None:
    """corral keeps a consumer only while it has allocations; such a source row
    is counted as left out, not as a mismatch."""
    src = tmp_path / "orphan.sqlite"
    shutil.copyfile(upstream.db, src)
    conn = sqlite3.connect(src)
    with conn:
        conn.execute(
            "INSERT INTO consumers (uuid, project_id, user_id, generation) "
            "SELECT ?, project_id, user_id, 7 FROM consumers LIMIT 1",
            (str(uuidlib.uuid4()),),
        )
    conn.close()
    target = Database(f"sqlite:///{tmp_path / 'corral.db'}")
    migrate.upgrade(target)
    report = imp.import_placement(f"sqlite:///{src}", target)
    target.dispose()
    assert report.ok and report.committed
    (consumers,) = [c for c in report.counts if c.entity == "consumers"]
    assert (consumers.source, consumers.imported, consumers.skipped) == (4, 3, 1)


def test_other_schema_revision_refused(upstream: Source, tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    shutil.copyfile(upstream.db, old)
    conn = sqlite3.connect(old)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '422ece571366'")
    conn.close()
    result = run_import(f"sqlite:///{old}", f"sqlite:///{tmp_path / 'corral.db'}")
    assert result.returncode == 2
    assert "at revision 422ece571366, not a082b8bb98d0" in result.stderr
