"""Capacity is never given away twice: real servers, real client processes.

Two `corral serve` processes share one database (SQLite file or a fresh
PostgreSQL database); several client processes PUT allocations for new
consumers on a few small providers at the same time, through both servers.
Afterwards the database must show: no (provider, class) over capacity,
every 204 claim present exactly as asked, every 409 claim absent with no
consumer left behind, and each provider's generation moved once per
successful claim on it.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from corral.store import migrate, resource_classes, tables
from corral.store.database import Database, utcnow
from tests.conftest import PG_ADMIN_URL, REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
CORRAL = ROOT / ".venv" / "bin" / "corral"

CLIENTS = 4
REQUESTS_PER_CLIENT = 60
PROVIDERS = 3
# Small inventories, so that demand far exceeds capacity.
INVENTORY = {
    "VCPU": {"total": 8, "reserved": 1, "allocation_ratio": 1.5},  # capacity 10
    "MEMORY_MB": {"total": 1024, "reserved": 256, "allocation_ratio": 1.0},  # 768
    "DISK_GB": {"total": 100, "reserved": 0, "allocation_ratio": 1.0, "step_size": 5},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url
        return
    name = f"corral_conc_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is not reachable: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed(url: str) -> dict[str, int]:
    """Providers with the small inventories; provider uuid -> id."""
    db = Database(url)
    out: dict[str, int] = {}
    try:
        with db.write() as conn:
            rc_ids = resource_classes.ids_for_names(conn, INVENTORY)
            for n in range(PROVIDERS):
                rp_uuid = str(uuid.uuid4())
                rp_id = conn.execute(
                    tables.resource_providers.insert()
                    .values(uuid=rp_uuid, name=f"rp{n}", generation=0, created_at=utcnow())
                    .returning(tables.resource_providers.c.id)
                ).scalar_one()
                conn.execute(
                    tables.resource_providers.update()
                    .where(tables.resource_providers.c.id == rp_id)
                    .values(root_provider_id=rp_id)
                )
                for name, fields in INVENTORY.items():
                    conn.execute(
                        tables.inventories.insert().values(
                            resource_provider_id=rp_id,
                            resource_class_id=rc_ids[name],
                            total=fields["total"],
                            reserved=fields["reserved"],
                            min_unit=1,
                            max_unit=fields["total"],
                            step_size=fields.get("step_size", 1),
                            allocation_ratio=fields["allocation_ratio"],
                            created_at=utcnow(),
                        )
                    )
                out[rp_uuid] = rp_id
    finally:
        db.dispose()
    return out


class Server:
    def __init__(self, url: str, log: Path) -> None:
        self.port = _free_port()
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                str(CORRAL),
                *("--database", url, "serve", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--conformance-profile", "default"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


Allocs = dict[str, dict[str, dict[str, int]]]
# (operation, consumer, status, allocations asked, error code)
Outcome = tuple[str, str, int, Allocs, str]

HEADERS = {
    "x-auth-token": "admin",
    "openstack-api-version": "placement 1.28",
    "content-type": "application/json",
    "accept": "application/json",
}


def _random_allocs(rng: random.Random, providers: list[str]) -> Allocs:
    allocs: Allocs = {}
    for rp in rng.sample(providers, rng.choice([1, 1, 2])):
        resources = {"VCPU": rng.randint(1, 3)}
        if rng.random() < 0.5:
            resources["MEMORY_MB"] = rng.choice([64, 128, 256])
        if rng.random() < 0.3:
            resources["DISK_GB"] = rng.choice([5, 10, 7])  # 7 breaks step_size
        allocs[rp] = {"resources": resources}
    return allocs


def _client(args: tuple[int, list[int], list[str]]) -> list[Outcome]:
    """One client process: creates claims, and replaces and deletes its own,
    so that capacity keeps being freed and fought over until the end."""
    seed, ports, providers = args
    rng = random.Random(seed)
    conns = {p: http.client.HTTPConnection("127.0.0.1", p, timeout=60) for p in ports}
    live: dict[str, int] = {}  # consumer -> generation
    out: list[Outcome] = []
    for _ in range(REQUESTS_PER_CLIENT):
        conn = conns[rng.choice(ports)]
        roll = rng.random()
        if live and roll < 0.2:
            consumer = rng.choice(sorted(live))
            conn.request("DELETE", f"/allocations/{consumer}", headers=HEADERS)
            resp = conn.getresponse()
            resp.read()
            out.append(("delete", consumer, resp.status, {}, ""))
            if resp.status == 204:
                del live[consumer]
            continue
        if live and roll < 0.4:
            consumer = rng.choice(sorted(live))
            generation: int | None = live[consumer]
        else:
            consumer, generation = str(uuid.uuid4()), None
        allocs = _random_allocs(rng, providers)
        body = {
            "allocations": allocs,
            "project_id": "p",
            "user_id": "u",
            "consumer_generation": generation,
        }
        conn.request("PUT", f"/allocations/{consumer}", body=json.dumps(body), headers=HEADERS)
        resp = conn.getresponse()
        payload = resp.read()
        err_code = ""
        if resp.status >= 400:
            err_code = json.loads(payload)["errors"][0].get("code", "")
        if resp.status == 204:
            live[consumer] = (generation or 0) + 1
        out.append(("put", consumer, resp.status, allocs, err_code))
    return out


def test_concurrent_claims_never_overcommit(shared_url: str, tmp_path: Path) -> None:
    provider_ids = _seed(shared_url)
    servers: list[Server] = []
    try:
        # One after the other: each migrates the database at start.
        for n in range(2):
            server = Server(shared_url, tmp_path / f"server{n}.log")
            servers.append(server)
            server.wait_ready()
        ports = [s.port for s in servers]
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(CLIENTS) as pool:
            jobs = [(seed, ports, list(provider_ids)) for seed in range(CLIENTS)]
            per_client = pool.map(_client, jobs)
    finally:
        for server in servers:
            server.stop()

    results = [r for batch in per_client for r in batch]
    unexpected = [r for r in results if r[2] not in (204, 409)]
    assert not unexpected, unexpected[:3]
    puts = [r for r in results if r[0] == "put"]
    # The run really contended: capacity ran out for some, and not for all.
    assert any(r[2] == 204 for r in puts) and any(r[2] == 409 for r in puts)

    # What each consumer must hold: its last successful write wins (each
    # consumer belongs to one client, whose requests are sequential).
    expected: dict[str, dict[str, dict[str, int]]] = {}
    claims_per_rp: dict[str, int] = dict.fromkeys(provider_ids, 0)
    for op, consumer, status, asked, _ in results:
        if status != 204:
            continue
        if op == "delete":
            del expected[consumer]
            continue
        expected[consumer] = {rp: part["resources"] for rp, part in asked.items()}
        # A write moves the generation of each provider it names, once.
        for rp in asked:
            claims_per_rp[rp] += 1

    db = Database(shared_url)
    try:
        with db.read() as conn:
            _check_capacity(conn)
            held = _held(conn)
            consumer_rows = set(conn.execute(select(tables.consumers.c.uuid)).scalars())
            rp = tables.resource_providers
            generations = {
                r.uuid: r.generation for r in conn.execute(select(rp.c.uuid, rp.c.generation))
            }
            names = resource_classes.names_for_ids(conn, {rc for (_, _, rc) in held})
    finally:
        db.dispose()

    uuid_of = {v: k for k, v in provider_ids.items()}
    got: dict[str, dict[str, dict[str, int]]] = {}
    for (consumer, rp_id, rc), used in held.items():
        got.setdefault(consumer, {}).setdefault(uuid_of[rp_id], {})[names[rc]] = used
    # Every 204 is there exactly as asked; nothing a 409 asked for is.
    assert got == expected
    assert consumer_rows == set(expected)
    assert generations == claims_per_rp


def _check_capacity(conn: Any) -> None:
    inv = tables.inventories
    alloc = tables.allocations
    used = (
        select(
            alloc.c.resource_provider_id.label("rp"),
            alloc.c.resource_class_id.label("rc"),
            func.sum(alloc.c.used).label("used"),
        )
        .group_by(alloc.c.resource_provider_id, alloc.c.resource_class_id)
        .subquery()
    )
    rows = conn.execute(
        select(inv, used.c.used).join(
            used,
            (used.c.rp == inv.c.resource_provider_id) & (used.c.rc == inv.c.resource_class_id),
        )
    ).all()
    assert rows
    for r in rows:
        assert r.used <= int((r.total - r.reserved) * r.allocation_ratio), r
    # No allocation outside an inventory.
    orphans = conn.execute(
        select(func.count())
        .select_from(alloc)
        .outerjoin(
            inv,
            (inv.c.resource_provider_id == alloc.c.resource_provider_id)
            & (inv.c.resource_class_id == alloc.c.resource_class_id),
        )
        .where(inv.c.id.is_(None))
    ).scalar_one()
    assert orphans == 0


def _held(conn: Any) -> dict[tuple[str, int, int], int]:
    alloc = tables.allocations
    out: dict[tuple[str, int, int], int] = {}
    for r in conn.execute(
        select(
            alloc.c.consumer_id,
            alloc.c.resource_provider_id,
            alloc.c.resource_class_id,
            alloc.c.used,
        )
    ):
        key = (r.consumer_id, r.resource_provider_id, r.resource_class_id)
        assert key not in out, f"duplicate allocation row {key}"
        out[key] = r.used
    return out
