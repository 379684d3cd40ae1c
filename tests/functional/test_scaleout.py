"""Scale-out: four `corral serve` processes on one PostgreSQL and one RabbitMQ topic.

Each process has its own API worker, RPC worker and in-memory index, kept
current from the change log (LISTEN/NOTIFY). 10,000 concurrent Nova
`select_destinations` calls (oslo.messaging's client, 32 at a time) spread
over the four RPC workers and fill 100 hosts past their capacity; afterwards
the database must show no over-commit, no instance without allocations, no
allocations without an instance, and an instance for every Selection
returned. Requests that find the cloud full get NoValidHost.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.store import migrate
from corral.store.database import Database
from tests.conftest import _truncate
from tests.functional.rpc_cluster import (
    add_hosts,
    check_invariants,
    cluster,
    request_spec,
    schedule,
)

HOSTS = 100
REQUESTS = 10_000
# 100 hosts x 96 VCPU: room for 9,600 one-VCPU instances, so the last
# requests race for the last places.
INVENTORY = {"VCPU": 96, "MEMORY_MB": 1_000_000, "DISK_GB": 100_000}


@pytest.fixture
def pg_database(pg_server_url: str) -> str:
    db = Database(pg_server_url)
    migrate.upgrade(db)
    _truncate(db)
    db.dispose()
    return pg_server_url


def test_four_processes_ten_thousand_requests(
    tmp_path: Path, pg_database: str, rabbit_url: str
) -> None:
    with cluster(tmp_path, pg_database, rabbit_url, processes=4) as (services, topic):
        add_hosts(services[0], HOSTS, INVENTORY)
        outcome = schedule(rabbit_url, topic, request_spec(1, 512, 1), REQUESTS, threads=32)
        logs = [service.text() for service in services]
    assert not outcome.errors, outcome.errors[:5]
    assert len(outcome.placed) + outcome.no_valid_host == REQUESTS
    usage = check_invariants(pg_database, outcome)
    assert usage["VCPU"] == len(outcome.placed)
    # The cloud is nearly full: a refusal came only once few places were left.
    assert len(outcome.placed) >= 9_000, (len(outcome.placed), outcome.no_valid_host)
    for text in logs:
        assert "Traceback" not in text, text[-3000:]
    print(
        f"\n{len(outcome.placed)} placed, {outcome.no_valid_host} NoValidHost in "
        f"{outcome.seconds:.1f} s ({REQUESTS / outcome.seconds:.0f} requests/s over 4 processes)"
    )
