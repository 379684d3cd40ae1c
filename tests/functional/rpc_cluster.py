"""Several `corral serve` processes on one database and one RabbitMQ topic.

Shared by tests/functional/test_scaleout.py and bench/scaleout.py: start N
processes (one API and one RPC worker each), register hosts over HTTP, send
Nova's `select_destinations` calls with oslo.messaging's own RPC client (the
library Nova's conductor uses; corral depends on it anyway) from many
threads, and check the invariants from the database afterwards.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import oslo_messaging as messaging
from oslo_config import cfg
from sqlalchemy import select

from corral.store import tables
from corral.store.database import Database
from tests.functional.test_launcher import HEADERS, Service

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nova"
EXCHANGE = "nova"


def request_spec(vcpus: int, memory_mb: int, root_gb: int) -> dict[str, Any]:
    """Nova's RequestSpec primitive (captured from Nova 34) with this flavor."""
    spec: dict[str, Any] = json.loads((FIXTURES / "request_spec_minimal.json").read_text())
    flavor = spec["nova_object.data"]["flavor"]["nova_object.data"]
    flavor.update(vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb)
    return spec


def rpc_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((FIXTURES / "context.json").read_text())
    return context


@dataclass
class Outcome:
    """What the callers saw: instance uuid -> chosen compute node, and refusals."""

    placed: dict[str, str] = field(default_factory=dict)
    no_valid_host: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0


@contextmanager
def cluster(
    tmp: Path, database_url: str, rabbit_url: str, processes: int
) -> Iterator[tuple[list[Service], str]]:
    """`processes` corral services on one database and one topic; stopped on exit."""
    topic = f"corral_scale_{uuid.uuid4().hex[:10]}"
    conf = (
        # Hosts beat once, when registered: keep them up for the whole run.
        f"[DEFAULT]\ntransport_url = {rabbit_url}\nservice_down_time = 3600\n"
        "[api]\nauth_strategy = noauth2\n"
        f"[scheduler]\nworkers = 1\ntopic = {topic}\n"
    )
    services: list[Service] = []
    try:
        for n in range(processes):
            home = tmp / f"corral-{n}"
            home.mkdir()
            services.append(Service(home, database_url, conf, workers=1))
        for service in services:
            service.wait_log(rf"RPC server listening: exchange nova, topic {topic}", 120)
        yield services, topic
    finally:
        for service in services:
            if service.proc.poll() is None:
                service.stop()


def register_hosts(
    url: str, count: int, inventory: dict[str, int], prefix: str = "scale"
) -> dict[str, str]:
    """Register `count` compute hosts, up, through the HTTP API at `url`;
    provider uuid -> host name."""
    hosts: dict[str, str] = {}
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as http:
        for i in range(count):
            host = f"{prefix}-{i:04d}"
            resp = http.post("/resource_providers", json={"name": host})
            assert resp.status_code == 200, resp.text
            rp = str(resp.json()["uuid"])
            resp = http.put(
                f"/resource_providers/{rp}/inventories",
                json={
                    "resource_provider_generation": 0,
                    "inventories": {rc: {"total": total} for rc, total in inventory.items()},
                },
            )
            assert resp.status_code == 200, resp.text
            resp = http.put(
                f"/scheduler/v1/hosts/{host}",
                json={"nodename": host, "provider_uuid": rp, "hypervisor_type": "QEMU"},
            )
            assert resp.status_code in (200, 201), resp.text
            resp = http.post(f"/scheduler/v1/hosts/{host}/heartbeat")
            assert resp.status_code == 204, resp.text
            hosts[rp] = host
    return hosts


def add_hosts(service: Service, count: int, inventory: dict[str, int]) -> dict[str, str]:
    """Register `count` compute hosts over HTTP; provider uuid -> host name."""
    return register_hosts(service.url, count, inventory)


def schedule(
    rabbit_url: str, topic: str, spec: dict[str, Any], requests: int, threads: int
) -> Outcome:
    """`requests` one-instance select_destinations calls, `threads` at a time."""
    # oslo.messaging registers some of its options on the global config only
    # (as corral.rpc.server notes), so its client is given that one.
    transport = messaging.get_rpc_transport(cfg.CONF, url=rabbit_url)
    target = messaging.Target(exchange=EXCHANGE, topic=topic, version="4.5")
    client = messaging.get_rpc_client(transport, target, timeout=300)
    context = rpc_context()
    outcome = Outcome()

    def one(_n: int) -> None:
        instance = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            answer = client.call(
                context,
                "select_destinations",
                spec_obj=copy.deepcopy(spec),
                instance_uuids=[instance],
                return_objects=True,
                return_alternates=True,
            )
        except messaging.RemoteError as exc:
            if exc.exc_type == "NoValidHost":
                outcome.no_valid_host += 1
            else:
                outcome.errors.append(f"{exc.exc_type}: {exc.value}")
            return
        except Exception as exc:
            outcome.errors.append(f"{type(exc).__name__}: {exc}")
            return
        outcome.latencies.append(time.perf_counter() - started)
        chosen = answer[0][0]["nova_object.data"]
        outcome.placed[instance] = chosen["compute_node_uuid"]

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(requests)))
    finally:
        outcome.seconds = time.perf_counter() - started
        transport.cleanup()
    return outcome


def check_invariants(database_url: str, outcome: Outcome) -> dict[str, int]:
    """No over-commit, no instance without allocations, no allocations without an
    instance, and every Selection an instance on the chosen node. Returns usage
    per resource class."""
    db = Database(database_url)
    try:
        with db.read() as conn:
            providers = dict(
                conn.execute(
                    select(tables.resource_providers.c.id, tables.resource_providers.c.uuid)
                ).all()
            )
            classes = dict(
                conn.execute(
                    select(tables.resource_classes.c.id, tables.resource_classes.c.name)
                ).all()
            )
            inv = tables.inventories.c
            capacity = {
                (r.resource_provider_id, r.resource_class_id): (r.total - r.reserved)
                * r.allocation_ratio
                for r in conn.execute(
                    select(
                        inv.resource_provider_id,
                        inv.resource_class_id,
                        inv.total,
                        inv.reserved,
                        inv.allocation_ratio,
                    )
                )
            }
            alloc = tables.allocations.c
            used: dict[tuple[int, int], int] = defaultdict(int)
            held: dict[str, set[str]] = defaultdict(set)
            for r in conn.execute(
                select(
                    alloc.consumer_id,
                    alloc.resource_provider_id,
                    alloc.resource_class_id,
                    alloc.used,
                )
            ):
                used[(r.resource_provider_id, r.resource_class_id)] += r.used
                held[r.consumer_id].add(providers[r.resource_provider_id])
            instances = dict(
                conn.execute(
                    select(tables.instances.c.uuid, tables.instances.c.provider_uuid)
                ).all()
            )
    finally:
        db.dispose()
    for key, amount in used.items():
        assert amount <= capacity[key], (
            f"over-commit: {providers[key[0]]} {classes[key[1]]} {amount} > {capacity[key]}"
        )
    assert set(held) == set(instances), (
        f"{len(set(held) - set(instances))} allocation consumers without an instance, "
        f"{len(set(instances) - set(held))} instances without allocations"
    )
    for instance, provider in instances.items():
        assert held[instance] == {provider}, (instance, held[instance], provider)
    assert set(outcome.placed) == set(instances), "a Selection without an instance, or one lost"
    for instance, provider in outcome.placed.items():
        assert instances[instance] == provider
    totals: dict[str, int] = defaultdict(int)
    for (_provider, rc), amount in used.items():
        totals[classes[rc]] += amount
    return dict(totals)
