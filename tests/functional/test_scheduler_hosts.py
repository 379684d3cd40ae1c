"""Compute hosts and services through /scheduler/v1/hosts, on both backends;
and the schema migration that creates the scheduler's tables."""

from __future__ import annotations

import ast
import datetime
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text, update

from corral.api.policies import list_rules
from corral.placement.index import PlacementIndex
from corral.store import host_changes, migrate, tables
from corral.store.database import Database, utcnow
from tests.conftest import PG_ADMIN_URL, PlacementClient
from tests.functional.scheduler_rows import (
    ROOT,
    create_provider,
    detail,
    fingerprint,
    log_kinds,
    register,
)

NUMA = {
    "cells": [
        {
            "id": 0,
            "cpuset": [0, 1],
            "memory": 1024,
            "siblings": [[0, 1]],
            "mempages": [{"size_kb": 4, "total": 262144}],
        }
    ]
}

FULL_NODE: dict[str, Any] = {
    "nodename": "node1.example.com",
    "hypervisor_type": "QEMU",
    "hypervisor_version": 8002000,
    "hypervisor_hostname": "node1.example.com",
    "cpu_info": {"arch": "x86_64", "topology": {"sockets": 1, "cores": 2}, "features": ["avx"]},
    "capabilities": {"cpu_vendor": "Intel", "num_instances": "0"},
    "metrics": {"cpu.percent": 0.25},
    "supported_instances": [["x86_64", "kvm", "hvm"]],
    "host_ip": "192.0.2.10",
    "numa_topology": NUMA,
    "pci_stats": [{"vendor_id": "8086", "product_id": "1520", "count": 2, "numa_node": 0}],
    "num_io_ops": 3,
    "failed_builds": 1,
    "cell_uuid": "f2a1c2b0-2d7e-4a55-9a4d-0a6c9e1f0b11",
}


# --- the migration --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("pg_server_url")  # skips when PostgreSQL is absent
    name = f"corral_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


SCHEDULER_TABLE_NAMES = {
    "compute_hosts",
    "compute_services",
    "host_aggregates",
    "host_aggregate_metadata",
    "host_aggregate_hosts",
    "server_groups",
    "server_group_members",
    "instances",
}


def test_upgrade_from_empty_matches_the_tables(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        migrate.upgrade(db)
        assert migrate.current_revision(db) == "0002"
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), tables.metadata) == []
            assert set(inspect(conn).get_table_names()) >= SCHEDULER_TABLE_NAMES
    finally:
        db.dispose()


def test_0001_creates_only_placement_tables_and_0002_the_rest(empty_url: str) -> None:
    from alembic import command

    db = Database(empty_url)
    try:
        cfg = migrate._alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with db.engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
        assert "resource_providers" in names and "change_log" in names
        assert not names & SCHEDULER_TABLE_NAMES
        migrate.upgrade(db)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        with db.engine.connect() as conn:
            assert not set(inspect(conn).get_table_names()) & SCHEDULER_TABLE_NAMES
    finally:
        db.dispose()


# --- registration ----------------------------------------------------------------


def test_register_show_and_replace_a_node(api: PlacementClient, database: Database) -> None:
    rp = str(uuid.uuid4())
    resp = api.put(f"{ROOT}/hosts/cmp1", json={**FULL_NODE, "provider_uuid": rp})
    assert resp.status_code == 201, resp.text
    host = resp.json()["host"]
    assert host["name"] == "cmp1"
    assert host["service"]["up"] is True
    assert host["service"]["disabled"] is False
    assert host["service"]["binary"] == "nova-compute"
    (node,) = host["nodes"]
    assert node["provider_uuid"] == rp
    for key, value in FULL_NODE.items():
        assert node[key] == value, key

    # The same body again: nothing to change, nothing logged.
    logged = len(log_kinds(database))
    resp = api.put(f"{ROOT}/hosts/cmp1", json={**FULL_NODE, "provider_uuid": rp})
    assert resp.status_code == 200
    assert len(log_kinds(database)) == logged

    # A replacement: fields left out take their defaults.
    resp = api.put(
        f"{ROOT}/hosts/cmp1", json={"nodename": "node1.example.com", "provider_uuid": rp}
    )
    assert resp.status_code == 200
    (node,) = resp.json()["host"]["nodes"]
    assert node["num_io_ops"] == 0 and node["numa_topology"] is None
    assert node["hypervisor_hostname"] == "node1.example.com"
    assert log_kinds(database)[-1] == host_changes.HOSTS

    shown = api.get(f"{ROOT}/hosts/cmp1").json()["host"]
    assert shown["nodes"][0]["num_io_ops"] == 0


def test_a_host_with_several_nodes(api: PlacementClient) -> None:
    register(api, "ironic", node="n2")
    register(api, "ironic", node="n1")
    host = api.get(f"{ROOT}/hosts/ironic").json()["host"]
    assert [n["nodename"] for n in host["nodes"]] == ["n1", "n2"]


def test_list_pages_by_host_name(api: PlacementClient) -> None:
    providers = {}
    for name in ("c", "a", "b"):
        providers[name] = register(api, name)["nodes"][0]["provider_uuid"]
    names = [h["name"] for h in api.get(f"{ROOT}/hosts").json()["hosts"]]
    assert names == ["a", "b", "c"]
    page = api.get(f"{ROOT}/hosts?limit=1&marker=a").json()["hosts"]
    assert [h["name"] for h in page] == ["b"]
    one = api.get(f"{ROOT}/hosts?provider_uuid={providers['c']}").json()["hosts"]
    assert [h["name"] for h in one] == ["c"]


def test_a_provider_belongs_to_one_node(api: PlacementClient, database: Database) -> None:
    rp = register(api, "cmp1")["nodes"][0]["provider_uuid"]
    before = fingerprint(database)
    resp = api.put(f"{ROOT}/hosts/cmp2", json={"nodename": "cmp2", "provider_uuid": rp})
    assert resp.status_code == 409
    assert "already the node cmp1 of host cmp1" in detail(resp)
    assert fingerprint(database) == before
    assert api.get(f"{ROOT}/hosts/cmp2").status_code == 404


def test_unknown_host_is_404(api: PlacementClient) -> None:
    for method, path in (
        ("GET", "/hosts/nope"),
        ("DELETE", "/hosts/nope"),
        ("POST", "/hosts/nope/heartbeat"),
    ):
        resp = api.request(method, ROOT + path)
        assert resp.status_code == 404, (method, path)
        assert "nope could not be found" in detail(resp)
    resp = api.put(f"{ROOT}/hosts/nope/service", json={"disabled": True})
    assert resp.status_code == 404


BAD_NODES: list[tuple[str, dict[str, Any], str]] = [
    ("no provider", {"nodename": "n"}, "'provider_uuid' is a required property"),
    ("bad uuid", {"nodename": "n", "provider_uuid": "not-a-uuid"}, "does not match"),
    ("long node name", {"nodename": "n" * 256, "provider_uuid": "@"}, "is too long"),
    ("extra field", {"nodename": "n", "provider_uuid": "@", "x": 1}, "Additional properties"),
    ("negative io ops", {"nodename": "n", "provider_uuid": "@", "num_io_ops": -1}, "minimum"),
    ("huge version", {"nodename": "n", "provider_uuid": "@", "hypervisor_version": 2**60}, ""),
    ("bad ip", {"nodename": "n", "provider_uuid": "@", "host_ip": "300.1.1.1"}, ""),
    (
        "metric not a number",
        {"nodename": "n", "provider_uuid": "@", "metrics": {"cpu": "high"}},
        "is not of type 'number'",
    ),
    (
        "too many metrics",
        {"nodename": "n", "provider_uuid": "@", "metrics": {f"m{i}": 1 for i in range(257)}},
        "has too many properties",
    ),
    (
        "short supported instance",
        {"nodename": "n", "provider_uuid": "@", "supported_instances": [["x86_64", "kvm"]]},
        "is too short",
    ),
    (
        "too deep cpu_info",
        {"nodename": "n", "provider_uuid": "@", "cpu_info": {"a": {"b": {"c": {"d": {}}}}}},
        "",
    ),
    (
        "unreadable numa topology",
        {"nodename": "n", "provider_uuid": "@", "numa_topology": {"cells": [{"cpuset": [0]}]}},
        "Unreadable numa_topology",
    ),
    (
        "pci pool count not a number",
        {"nodename": "n", "provider_uuid": "@", "pci_stats": [{"count": "many"}]},
        "Unreadable numa_topology or pci_stats",
    ),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD_NODES, ids=[c[0] for c in BAD_NODES])
def test_bad_node_bodies_are_400_and_change_nothing(
    api: PlacementClient, database: Database, case: str, body: dict[str, Any], message: str
) -> None:
    if body.get("provider_uuid") == "@":
        body = {**body, "provider_uuid": str(uuid.uuid4())}
    before = fingerprint(database)
    resp = api.put(f"{ROOT}/hosts/cmp1", json=body)
    assert resp.status_code == 400, resp.text
    assert message in detail(resp)
    assert fingerprint(database) == before


@pytest.mark.parametrize("host", ["bad host", "a" * 256, "semi;colon"])
def test_bad_host_names_in_the_path(api: PlacementClient, database: Database, host: str) -> None:
    before = fingerprint(database)
    resp = api.put(
        f"{ROOT}/hosts/{host}", json={"nodename": "n", "provider_uuid": str(uuid.uuid4())}
    )
    assert resp.status_code == 400
    assert "Invalid host in the path" in detail(resp)
    assert api.get(f"{ROOT}/hosts/{host}").status_code == 400
    assert fingerprint(database) == before


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=1001", "limit=x", "marker=" + "m" * 256, "provider_uuid=x", "other=1",
     "limit=1&limit=2"],
)  # fmt: skip
def test_bad_list_queries(api: PlacementClient, query: str) -> None:
    resp = api.get(f"{ROOT}/hosts?{query}")
    assert resp.status_code == 400, query
    assert "Invalid query string parameters" in detail(resp)


def test_not_json_is_refused(api: PlacementClient, database: Database) -> None:
    before = fingerprint(database)
    resp = api.put(f"{ROOT}/hosts/cmp1", content=b"{", headers={"content-type": "application/json"})
    assert resp.status_code == 400
    resp = api.put(f"{ROOT}/hosts/cmp1", content=b"{}", headers={"content-type": "text/plain"})
    assert resp.status_code == 415
    assert fingerprint(database) == before


# --- services --------------------------------------------------------------------


def test_disable_enable_and_force_down(api: PlacementClient, database: Database) -> None:
    register(api, "cmp1")
    resp = api.put(
        f"{ROOT}/hosts/cmp1/service", json={"disabled": True, "disabled_reason": "maintenance"}
    )
    assert resp.status_code == 200, resp.text
    service = resp.json()["service"]
    assert service["disabled"] is True and service["disabled_reason"] == "maintenance"
    assert log_kinds(database)[-1] == host_changes.SERVICES

    service = api.put(f"{ROOT}/hosts/cmp1/service", json={"forced_down": True}).json()["service"]
    assert service["forced_down"] is True and service["up"] is False
    assert service["disabled"] is True  # untouched

    # Enabling clears the reason, as Nova.
    service = api.put(f"{ROOT}/hosts/cmp1/service", json={"disabled": False}).json()["service"]
    assert service["disabled"] is False and service["disabled_reason"] is None
    service = api.put(f"{ROOT}/hosts/cmp1/service", json={"forced_down": False}).json()["service"]
    assert service["up"] is True


@pytest.mark.parametrize(
    "body",
    [{}, {"disabled": "yes"}, {"disabled_reason": "r" * 256}, {"up": True}, []],
)
def test_bad_service_bodies(api: PlacementClient, database: Database, body: Any) -> None:
    register(api, "cmp1")
    before = fingerprint(database)
    shown = api.get(f"{ROOT}/hosts/cmp1").json()
    resp = api.put(f"{ROOT}/hosts/cmp1/service", json=body)
    assert resp.status_code == 400
    assert fingerprint(database) == before
    assert api.get(f"{ROOT}/hosts/cmp1").json() == shown


def test_heartbeats_keep_a_service_up(api: PlacementClient, database: Database) -> None:
    register(api, "cmp1")
    long_ago = utcnow() - datetime.timedelta(seconds=600)
    with database.write() as conn:
        conn.execute(update(tables.compute_services).values(last_heartbeat=long_ago))
    assert api.get(f"{ROOT}/hosts/cmp1").json()["host"]["service"]["up"] is False
    logged = len(log_kinds(database))
    assert api.post(f"{ROOT}/hosts/cmp1/heartbeat").status_code == 204
    assert api.get(f"{ROOT}/hosts/cmp1").json()["host"]["service"]["up"] is True
    # Heartbeats stay out of the change log.
    assert len(log_kinds(database)) == logged
    resp = api.post(f"{ROOT}/hosts/cmp1/heartbeat", json={"x": 1})
    assert resp.status_code == 400


# --- deletion --------------------------------------------------------------------


def test_delete_a_host(api: PlacementClient, database: Database) -> None:
    rp = create_provider(api, "cmp1")
    register(api, "cmp1", rp)
    agg = api.post(f"{ROOT}/aggregates", json={"aggregate": {"name": "a1"}}).json()["aggregate"]
    assert (
        api.post(
            f"{ROOT}/aggregates/{agg['id']}/action", json={"add_host": {"host": "cmp1"}}
        ).status_code
        == 200
    )
    assert api.delete(f"{ROOT}/hosts/cmp1").status_code == 204
    assert api.get(f"{ROOT}/hosts/cmp1").status_code == 404
    assert api.get(f"{ROOT}/aggregates/{agg['id']}").json()["aggregate"]["hosts"] == []
    # Also out of the Placement aggregate.
    assert api.get(f"/resource_providers/{rp}/aggregates").json()["aggregates"] == []
    counts = fingerprint(database)
    assert counts["compute_hosts"] == counts["compute_services"] == 0


def test_a_host_with_instances_is_not_deleted(api: PlacementClient, database: Database) -> None:
    from corral.compute.instances import PlacedInstance, record_placed

    register(api, "cmp1")
    record_placed(database, [PlacedInstance(str(uuid.uuid4()), "cmp1", "cmp1", "p", "u")])
    before = fingerprint(database)
    resp = api.delete(f"{ROOT}/hosts/cmp1")
    assert resp.status_code == 409
    assert "hosting instances" in detail(resp)
    assert fingerprint(database) == before


# --- policy and the placement index ------------------------------------------------


def test_non_admin_is_forbidden(api: PlacementClient, database: Database) -> None:
    register(api, "cmp1")
    member = PlacementClient(api.client, token="bob:p1")
    before = fingerprint(database)
    assert member.get(f"{ROOT}/hosts").status_code == 403
    assert member.put(f"{ROOT}/hosts/cmp2", json={"nodename": "x"}).status_code == 403
    assert member.post(f"{ROOT}/hosts/cmp1/heartbeat").status_code == 403
    assert fingerprint(database) == before


def test_every_scheduler_rule_in_the_handlers_is_registered() -> None:
    handlers = Path(__file__).resolve().parents[2] / "src" / "corral" / "api"
    registered = {r.name for r in list_rules()}
    used = {
        node.value
        for path in (handlers / "policies" / "scheduler.py",)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("scheduler:")
    }
    assert used and used <= registered


def test_the_placement_index_skips_scheduler_changes(
    api: PlacementClient, database: Database
) -> None:
    rp = create_provider(api, "cmp1", {"VCPU": 8})
    index = PlacementIndex(database)
    index.load()
    loads = index.full_loads
    register(api, "cmp1", rp)
    api.put(f"{ROOT}/hosts/cmp1/service", json={"disabled": True})
    index.catch_up()
    assert index.full_loads == loads
    assert index.stats().providers == 1
    with index.reading() as state:
        assert state.slot_of_uuid.keys() == {rp}
