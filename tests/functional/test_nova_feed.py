"""corral reads its hosts from a real Nova 34 schema (corral.compute.nova_feed).

The Nova API and cell databases are created by Nova's own `nova-manage api_db
sync` / `db sync` (from the Nova 34 virtualenv) in scratch MariaDB databases,
filled with plain SQL as Nova's services would, and read by the feed through
an account that has SELECT only. The host cache then shows what Nova holds.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from corral.compute.nova_feed import NovaFeed
from corral.scheduler.host_cache import HostCache
from corral.store import migrate
from corral.store.database import Database, safe_url
from tests.conftest import NOVA_VENV, _service_missing, with_db_drivers
from tests.unit import host_cache_queries as queries

MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"
READER = "corral_feed_ro"
READER_PASSWORD = "Pw-n0t-in-logs-7f3a"
WRONG_PASSWORD = "Wrong-pw-n0t-in-logs-91c"
CELL0 = "00000000-0000-0000-0000-000000000000"
CELL1 = str(uuid.uuid4())
CELL2 = str(uuid.uuid4())  # unreachable: a wrong password
NOVA_TABLES = {  # in an order rows can be deleted in (foreign keys)
    "api": [
        "instance_group_member",
        "instance_group_policy",
        "instance_groups",
        "aggregate_metadata",
        "aggregate_hosts",
        "aggregates",
        "host_mappings",
        "cell_mappings",
    ],
    "cell": [
        "instance_system_metadata",
        "instance_extra",
        "instances",
        "compute_nodes",
        "services",
    ],
}

NUMA = {
    "nova_object.name": "NUMATopology",
    "nova_object.data": {
        "cells": [
            {
                "nova_object.name": "NUMACell",
                "nova_object.data": {
                    "id": 0,
                    "cpuset": [0, 1, 2, 3],
                    "pcpuset": [],
                    "memory": 8192,
                    "cpu_usage": 0,
                    "memory_usage": 0,
                    "pinned_cpus": [],
                    "siblings": [[0, 1], [2, 3]],
                    "mempages": [],
                },
            }
        ]
    },
}


@pytest.fixture(scope="module")
def nova_manage(nova_python: Path) -> Path:
    """nova-manage of the Nova 34 virtualenv (built when absent), with the
    drivers oslo.db needs for MariaDB and PostgreSQL (PyMySQL, psycopg2),
    installed there when missing: a virtualenv holding only nova has neither."""
    with_db_drivers(nova_python, f"the Nova 34 virtualenv at {NOVA_VENV}")
    manage = nova_python.parent / "nova-manage"
    if not manage.exists():
        _service_missing(f"nova-manage in {NOVA_VENV}", FileNotFoundError(manage))
    return manage


@pytest.fixture(scope="module")
def nova_dbs(nova_manage: Path) -> Iterator[dict[str, str]]:
    """A Nova 34 API + cell1 database pair on MariaDB, synced by nova-manage."""
    manage = nova_manage
    try:
        admin = create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
        admin.connect().close()
    except Exception as exc:
        _service_missing("MariaDB at 127.0.0.1:3306", exc)
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    api_db, cell_db = f"nova_api_{tag}", f"nova_cell1_{tag}"
    with admin.connect() as conn:
        for name in (api_db, cell_db):
            conn.execute(text(f"CREATE DATABASE {name}"))
        conn.execute(
            text(f"CREATE USER IF NOT EXISTS '{READER}'@'%' IDENTIFIED BY :pw"),
            {"pw": READER_PASSWORD},
        )
        for name in (api_db, cell_db):
            # The GRANTs the README documents, and nothing more.
            conn.execute(text(f"GRANT SELECT ON {name}.* TO '{READER}'@'%'"))
    conf = Path(f"/tmp/corral-nova-feed-{tag}.conf")
    conf.write_text(
        f"[api_database]\nconnection = {MYSQL_ADMIN}{api_db}\n"
        f"[database]\nconnection = {MYSQL_ADMIN}{cell_db}\n"
    )
    try:
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            subprocess.run(
                [str(manage), "--config-file", str(conf), *args],
                check=True,
                capture_output=True,
                timeout=300,
            )
        yield {
            "api_admin": f"{MYSQL_ADMIN}{api_db}",
            "cell_admin": f"{MYSQL_ADMIN}{cell_db}",
            "api": f"mysql+pymysql://{READER}:{READER_PASSWORD}@127.0.0.1:3306/{api_db}",
            "cell": f"mysql+pymysql://{READER}:{READER_PASSWORD}@127.0.0.1:3306/{cell_db}",
            "cell_wrong": f"mysql+pymysql://{READER}:{WRONG_PASSWORD}@127.0.0.1:3306/{cell_db}",
        }
    finally:
        conf.unlink(missing_ok=True)
        with admin.connect() as conn:
            for name in (api_db, cell_db):
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


class Nova:
    """Writes rows as Nova's services do (plain SQL, admin account)."""

    def __init__(self, dbs: dict[str, str]) -> None:
        self.api: Engine = create_engine(dbs["api_admin"])
        self.cell: Engine = create_engine(dbs["cell_admin"])
        self.dbs = dbs

    def run(self, engine: Engine, sql: str, **params: Any) -> None:
        with engine.begin() as conn:
            conn.execute(text(sql), params)

    def reset(self) -> None:
        for engine, kind in ((self.api, "api"), (self.cell, "cell")):
            for table in NOVA_TABLES[kind]:
                self.run(engine, f"DELETE FROM {table}")

    def checksums(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for engine, kind in ((self.api, "api"), (self.cell, "cell")):
            with engine.connect() as conn:
                for table in NOVA_TABLES[kind]:
                    out[table] = conn.execute(text(f"CHECKSUM TABLE {table} EXTENDED")).all()
        return out

    def cells(self) -> None:
        for cid, cuuid, name, url in (
            (1, CELL0, "cell0", self.dbs["cell"]),
            (2, CELL1, "cell1", self.dbs["cell"]),
            (3, CELL2, "cell2", self.dbs["cell_wrong"]),
        ):
            self.run(
                self.api,
                "INSERT INTO cell_mappings (id, uuid, name, transport_url, database_connection,"
                " disabled) VALUES (:i, :u, :n, 'rabbit://', :d, 0)",
                i=cid,
                u=cuuid,
                n=name,
                d=url,
            )

    def compute(self, host: str, *, node_id: int, vcpus: int = 16, numa: Any = NUMA) -> str:
        node_uuid = str(uuid.uuid4())
        self.run(
            self.api,
            "INSERT INTO host_mappings (cell_id, host) VALUES (2, :h)",
            h=host,
        )
        self.run(
            self.cell,
            "INSERT INTO services (id, host, `binary`, topic, report_count, disabled, deleted,"
            " forced_down, version, last_seen_up, created_at) VALUES (:i, :h, 'nova-compute',"
            " 'compute', 1, 0, 0, 0, 66, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
            i=node_id,
            h=host,
        )
        self.run(
            self.cell,
            "INSERT INTO compute_nodes (id, uuid, service_id, host, hypervisor_hostname, vcpus,"
            " memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used, hypervisor_type,"
            " hypervisor_version, cpu_info, stats, metrics, numa_topology, pci_stats,"
            " supported_instances, host_ip, deleted) VALUES (:i, :u, :i, :h, :h, :v, 32768,"
            " 500, 0, 0, 0, 'QEMU', 8002000, :cpu, :stats, '[]', :numa, :pci, :sup,"
            " '192.0.2.10', 0)",
            i=node_id,
            u=node_uuid,
            h=host,
            v=vcpus,
            cpu=json.dumps({"arch": "x86_64", "model": "Haswell", "vendor": "Intel"}),
            stats=json.dumps({"io_workload": "1", "failed_builds": "0", "num_instances": "0"}),
            numa=numa if isinstance(numa, str) else json.dumps(numa),
            pci=json.dumps(
                {"nova_object.name": "PciDevicePoolList", "nova_object.data": {"objects": []}}
            ),
            sup=json.dumps([["x86_64", "kvm", "hvm"]]),
        )
        return node_uuid

    def instance(self, inst: str, host: str, iid: int) -> None:
        self.run(
            self.cell,
            "INSERT INTO instances (id, uuid, host, node, project_id, user_id, vm_state, deleted)"
            " VALUES (:i, :u, :h, :h, 'p1', 'u1', 'active', 0)",
            i=iid,
            u=inst,
            h=host,
        )
        flavor = {
            "cur": {
                "nova_object.name": "Flavor",
                "nova_object.data": {
                    "name": "m1.small",
                    "flavorid": "2",
                    "vcpus": 1,
                    "memory_mb": 2048,
                    "root_gb": 20,
                    "ephemeral_gb": 0,
                    "swap": 0,
                    "extra_specs": {"hw:cpu_policy": "shared"},
                },
            },
            "old": None,
            "new": None,
        }
        self.run(
            self.cell,
            "INSERT INTO instance_extra (instance_uuid, flavor, deleted) VALUES (:u, :f, 0)",
            u=inst,
            f=json.dumps(flavor),
        )

    def dispose(self) -> None:
        self.api.dispose()
        self.cell.dispose()


@pytest.fixture
def nova(nova_dbs: dict[str, str]) -> Iterator[Nova]:
    writer = Nova(nova_dbs)
    writer.reset()
    yield writer
    writer.reset()
    writer.dispose()


@pytest.fixture
def corral_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'corral.db'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


def _hosts(cache: HostCache) -> dict[str, dict[str, Any]]:
    cache.catch_up()
    batch = queries.every_host(cache)
    return {
        host: {
            "cell": batch.cell_uuid[i],
            "enabled": bool(batch.enabled[i]),
            "up": bool(batch.up[i]),
            "instances": set(batch.instances[i]),
            "zone": batch.availability_zone[i],
            "io_ops": int(batch.num_io_ops[i]),
        }
        for i, host in enumerate(batch.host)
    }


def test_the_host_cache_shows_what_nova_holds_and_follows_it(
    nova: Nova, nova_dbs: dict[str, str], corral_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    nova.cells()
    nova.compute("cmp1", node_id=1)
    nova.compute("cmp2", node_id=2)
    # Bad rows: an unparseable NUMA topology, negative vcpus.
    nova.compute("bad-numa", node_id=3, numa="{not json")
    nova.compute("bad-vcpus", node_id=4, vcpus=-4)
    nova.run(
        nova.api,
        "INSERT INTO aggregates (id, uuid, name) VALUES (1, :u, 'agg1')",
        u=str(uuid.uuid4()),
    )
    nova.run(nova.api, "INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (1, 'cmp1')")
    nova.run(
        nova.api,
        "INSERT INTO aggregate_metadata (aggregate_id, `key`, value) VALUES"
        " (1, 'availability_zone', 'az1'), (1, 'ssd', 'true')",
    )
    i1, i2, i3 = (str(uuid.uuid4()) for _ in range(3))
    nova.instance(i1, "cmp1", 1)
    nova.instance(i2, "cmp2", 2)
    nova.instance(i3, "cmp2", 3)
    group = str(uuid.uuid4())
    nova.run(
        nova.api,
        "INSERT INTO instance_groups (id, uuid, name, project_id, user_id)"
        " VALUES (1, :u, 'g1', 'p1', 'u1')",
        u=group,
    )
    nova.run(
        nova.api,
        "INSERT INTO instance_group_policy (group_id, policy, rules)"
        " VALUES (1, 'anti-affinity', '{\"max_server_per_host\": \"1\"}')",
    )
    nova.run(
        nova.api,
        "INSERT INTO instance_group_member (group_id, instance_uuid) VALUES (1, :a), (1, :b)",
        a=i1,
        b=i2,
    )
    before = nova.checksums()

    feed = NovaFeed(corral_db, nova_dbs["api"], interval=1.0, grace=0.0)
    cache = HostCache(corral_db)
    cache.load()
    first = feed.refresh()
    assert nova.checksums() == before  # the feed changed no row of Nova's
    assert first.ran and first.failed_cells == [CELL2]
    assert set(first.skipped) == {"bad-numa", "bad-vcpus"}
    hosts = _hosts(cache)
    assert set(hosts) == {"cmp1", "cmp2"}  # the bad rows skipped, the rest loaded
    assert hosts["cmp1"] == {
        "cell": CELL1,
        "enabled": True,
        "up": True,
        "instances": {i1},
        "zone": "az1",
        "io_ops": 1,
    }
    assert hosts["cmp2"]["instances"] == {i2, i3}
    (aggregate,) = cache.aggregates().values()
    assert aggregate.metadata == {"availability_zone": "az1", "ssd": "true"}
    assert aggregate.hosts == frozenset({"cmp1"})
    spec_group = cache.instance_group(group)
    assert spec_group is not None
    assert spec_group.policy == "anti-affinity" and spec_group.rules == {"max_server_per_host": "1"}
    assert set(spec_group.members) == {i1, i2} and spec_group.hosts == ("cmp1", "cmp2")
    log = caplog.text
    assert "bad-numa" in log and "numa_topology" in log
    assert "bad-vcpus" in log and "vcpus" in log

    # A steady cloud: the next refresh writes nothing (the heartbeats did not move).
    assert feed.refresh().writes == 0

    # Nova changes things; the next refresh sees each.
    nova.run(nova.cell, "UPDATE services SET disabled=1, disabled_reason='maint' WHERE host='cmp1'")
    nova.run(nova.cell, "UPDATE services SET forced_down=1 WHERE host='cmp2'")
    nova.compute("cmp3", node_id=5)
    nova.run(nova.api, "UPDATE aggregate_metadata SET value='az2' WHERE `key`='availability_zone'")
    nova.run(nova.api, "DELETE FROM aggregate_metadata WHERE `key`='ssd'")
    nova.run(nova.api, "INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (1, 'cmp3')")
    nova.run(nova.cell, "UPDATE instances SET deleted=id, vm_state='deleted' WHERE uuid=:u", u=i3)
    nova.run(nova.api, "DELETE FROM instance_group_member WHERE instance_uuid=:u", u=i2)
    second = feed.refresh()
    assert second.writes > 0
    hosts = _hosts(cache)
    assert set(hosts) == {"cmp1", "cmp2", "cmp3"}
    assert not hosts["cmp1"]["enabled"] and hosts["cmp1"]["up"]
    assert hosts["cmp2"]["enabled"] and not hosts["cmp2"]["up"]
    assert hosts["cmp3"]["cell"] == CELL1 and hosts["cmp3"]["zone"] == "az2"
    assert hosts["cmp1"]["zone"] == "az2"
    assert hosts["cmp2"]["instances"] == {i2}
    (aggregate,) = cache.aggregates().values()
    assert aggregate.metadata == {"availability_zone": "az2"}
    spec_group = cache.instance_group(group)
    assert spec_group is not None and spec_group.members == (i1,)

    # A host Nova deleted goes (its instances first); a deleted group goes.
    nova.run(nova.cell, "UPDATE instances SET deleted=id WHERE host='cmp2'")
    nova.run(nova.cell, "UPDATE compute_nodes SET deleted=id WHERE host='cmp2'")
    nova.run(nova.cell, "UPDATE services SET deleted=id WHERE host='cmp2'")
    nova.run(nova.api, "DELETE FROM instance_group_member")
    nova.run(nova.api, "DELETE FROM instance_group_policy")
    nova.run(nova.api, "DELETE FROM instance_groups")
    feed.refresh()
    assert set(_hosts(cache)) == {"cmp1", "cmp3"}
    assert cache.instance_group(group) is None
    # The bad host fixed in Nova: it loads.
    nova.run(nova.cell, "UPDATE compute_nodes SET vcpus=8 WHERE host='bad-vcpus'")
    third = feed.refresh()
    assert set(third.skipped) == {"bad-numa"}
    assert "bad-vcpus" in _hosts(cache)
    feed.dispose()

    # The feed read only: Nova's rows are as the writer left them, bar the
    # writer's own changes above (checked table by table against a fresh read).
    after_feed = nova.checksums()
    feed2 = NovaFeed(corral_db, nova_dbs["api"], grace=0.0)
    feed2.refresh()
    feed2.dispose()
    assert nova.checksums() == after_feed
    assert before != after_feed  # the writer's changes are what moved them
    assert READER_PASSWORD not in caplog.text and WRONG_PASSWORD not in caplog.text
    assert "cell2" in caplog.text  # the unreachable cell was reported, masked


def test_the_read_only_session_refuses_writes(nova: Nova, nova_dbs: dict[str, str]) -> None:
    from corral.store.nova_db import reader

    engine = reader.read_only_engine(nova_dbs["cell_admin"])  # root: only the session stops it
    try:
        with engine.connect() as conn, pytest.raises(Exception, match=r"READ ONLY|read.only"):
            conn.execute(text("DELETE FROM services"))
    finally:
        engine.dispose()
    assert safe_url(nova_dbs["api"]).count(READER_PASSWORD) == 0


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def nova_pg_dbs(nova_manage: Path) -> Iterator[dict[str, str]]:
    """A Nova 34 API + cell1 pair on PostgreSQL, synced by nova-manage (with
    psycopg2, oslo.db's PostgreSQL driver, which the nova_manage fixture installs)."""
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        admin.connect().close()
    except Exception as exc:
        _service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    api_db, cell_db = f"nova_api_{tag}", f"nova_cell1_{tag}"
    with admin.connect() as conn:
        for name in (api_db, cell_db):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = "postgresql+psycopg2://postgres@127.0.0.1:5432/"
    conf = Path(f"/tmp/corral-nova-feed-pg-{tag}.conf")
    conf.write_text(
        f"[api_database]\nconnection = {base}{api_db}\n[database]\nconnection = {base}{cell_db}\n"
    )
    try:
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            subprocess.run(
                [str(nova_manage), "--config-file", str(conf), *args],
                check=True,
                capture_output=True,
                timeout=300,
            )
        # Nova's own URL form (psycopg2); corral reads it with psycopg 3.
        yield {"api": f"{base}{api_db}", "cell": f"{base}{cell_db}"}
    finally:
        conf.unlink(missing_ok=True)
        with admin.connect() as conn:
            for name in (api_db, cell_db):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_postgresql_backed_nova(nova_pg_dbs: dict[str, str], corral_db: Database) -> None:
    from corral.store.nova_db.reader import parse_url

    api = create_engine(parse_url(nova_pg_dbs["api"]))
    cell = create_engine(parse_url(nova_pg_dbs["cell"]))
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    node_uuid, inst = str(uuid.uuid4()), str(uuid.uuid4())
    with api.begin() as conn:
        for cid, cuuid in ((1, CELL0), (2, CELL1)):
            conn.execute(
                text(
                    "INSERT INTO cell_mappings (id, uuid, name, transport_url,"
                    " database_connection, disabled) VALUES (:i, :u, :n, 'rabbit://', :d, false)"
                ),
                {"i": cid, "u": cuuid, "n": f"cell{cid - 1}", "d": nova_pg_dbs["cell"]},
            )
        conn.execute(text("INSERT INTO host_mappings (cell_id, host) VALUES (2, 'pg1')"))
    with cell.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO services (id, host, "binary", topic, report_count, disabled,'
                " deleted, forced_down, last_seen_up, created_at) VALUES (1, 'pg1',"
                " 'nova-compute', 'compute', 1, false, 0, false, :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO compute_nodes (id, uuid, service_id, host, hypervisor_hostname,"
                " vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used,"
                " hypervisor_type, hypervisor_version, cpu_info, stats, numa_topology, deleted)"
                " VALUES (1, :u, 1, 'pg1', 'pg1', 8, 4096, 100, 0, 0, 0, 'QEMU', 8002000,"
                " '{}', '{}', :numa, 0)"
            ),
            {"u": node_uuid, "numa": json.dumps(NUMA)},
        )
        conn.execute(
            text(
                "INSERT INTO instances (id, uuid, host, node, project_id, user_id, vm_state,"
                " deleted) VALUES (1, :u, 'pg1', 'pg1', 'p', 'u', 'active', 0)"
            ),
            {"u": inst},
        )
    feed = NovaFeed(corral_db, nova_pg_dbs["api"], grace=0.0)
    cache = HostCache(corral_db)
    cache.load()
    try:
        result = feed.refresh()
        assert result.ran and not result.failed_cells and not result.skipped
        hosts = _hosts(cache)
        assert hosts["pg1"]["cell"] == CELL1 and hosts["pg1"]["instances"] == {inst}
        with cell.begin() as conn:
            conn.execute(text("UPDATE services SET disabled=true WHERE host='pg1'"))
        feed.refresh()
        assert not _hosts(cache)["pg1"]["enabled"]
        # The session is read-only even for an account that could write.
        from corral.store.nova_db import reader

        engine = reader.read_only_engine(nova_pg_dbs["cell"])
        with engine.connect() as conn, pytest.raises(Exception, match="read-only"):
            conn.execute(text("DELETE FROM services"))
        engine.dispose()
    finally:
        feed.dispose()
        api.dispose()
        cell.dispose()


def _flavor(name: str, vcpus: int) -> str:
    data = {
        "name": name,
        "flavorid": name,
        "vcpus": vcpus,
        "memory_mb": 1024 * vcpus,
        "root_gb": 10,
        "ephemeral_gb": 0,
        "swap": 0,
        "extra_specs": {},
    }
    return json.dumps(
        {"cur": {"nova_object.name": "Flavor", "nova_object.data": data}, "old": None, "new": None}
    )


def test_templated_cell_url_resize_rebuild_and_heartbeats(
    nova: Nova, nova_dbs: dict[str, str], corral_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    from corral.store import compute_hosts as host_store
    from corral.store import instances as instance_store

    cell_db = nova_dbs["cell"].rsplit("/", 1)[1]
    # Nova's template form: the parts come from the URL corral was given.
    template = "{scheme}://{username}:{password}@{hostname}:{port}/" + cell_db
    nova.run(
        nova.api,
        "INSERT INTO cell_mappings (id, uuid, name, transport_url, database_connection,"
        " disabled) VALUES (2, :u, 'cell1', 'rabbit://', :d, 0)",
        u=CELL1,
        d=template,
    )
    nova.compute("cmp1", node_id=1)
    inst = str(uuid.uuid4())
    nova.instance(inst, "cmp1", 1)
    nova.run(
        nova.cell,
        "INSERT INTO instance_system_metadata (instance_uuid, `key`, value, deleted) VALUES"
        " (:u, 'image_hw_machine_type', 'q35', 0), (:u, 'image_min_ram', '0', 0),"
        " (:u, 'owner_user_name', 'alice', 0)",
        u=inst,
    )
    feed = NovaFeed(corral_db, nova_dbs["api"], interval=1.0, grace=0.0)
    # Liveness polled every 0.25 s (corral.scheduler.host_cache.liveness).
    cache = HostCache(corral_db, heartbeat_poll_interval=0.25)
    cache.load()

    def held() -> Any:
        with corral_db.read() as conn:
            row = instance_store.get_by_uuid(conn, inst)
        assert row is not None
        return row.values

    try:
        result = feed.refresh()
        assert result.ran, result
        assert not result.failed_cells, caplog.text
        assert set(_hosts(cache)) == {"cmp1"}
        values = held()
        assert values.flavor["name"] == "m1.small" and values.flavor["vcpus"] == 1
        # image_* keys only, the image's own attributes (min_ram) left out.
        assert values.image_properties == {"hw_machine_type": "q35"}

        # A resize: Nova saves the new flavor in instance_extra (updated_at moves).
        nova.run(
            nova.cell,
            "UPDATE instance_extra SET flavor=:f, updated_at=UTC_TIMESTAMP()"
            " WHERE instance_uuid=:u",
            f=_flavor("m1.large", 4),
            u=inst,
        )
        feed.refresh()
        assert held().flavor["name"] == "m1.large" and held().flavor["vcpus"] == 4
        # A second save within the same second (Nova's DATETIME has no fraction)
        # is seen too: a recent save is read again.
        nova.run(
            nova.cell,
            "UPDATE instance_extra SET flavor=:f, updated_at=UTC_TIMESTAMP()"
            " WHERE instance_uuid=:u",
            f=_flavor("m1.xlarge", 8),
            u=inst,
        )
        feed.refresh()
        assert held().flavor["vcpus"] == 8
        # A rebuild: new image properties in the system metadata.
        nova.run(
            nova.cell,
            "UPDATE instance_system_metadata SET value='pc' WHERE `key`='image_hw_machine_type'",
        )
        nova.run(nova.cell, "UPDATE instances SET updated_at=UTC_TIMESTAMP() WHERE uuid=:u", u=inst)
        feed.refresh()
        assert held().image_properties == {"hw_machine_type": "pc"}
        cache.catch_up()
        batch_images = queries.every_host(cache).instance_image_properties
        assert batch_images == [{inst: {"hw_machine_type": "pc"}}]

        # Heartbeats: a service last seen 10 minutes ago is down (service_down_time 60).
        nova.run(
            nova.cell,
            "UPDATE services SET last_seen_up = UTC_TIMESTAMP() - INTERVAL 10 MINUTE"
            " WHERE host='cmp1'",
        )
        assert feed.refresh().writes == 1  # the heartbeat alone, one transaction
        time.sleep(0.3)  # the next heartbeat poll is due
        assert not _hosts(cache)["cmp1"]["up"]
        with corral_db.read() as conn:
            service = host_store.service(conn, "cmp1")
        assert service is not None and service.last_heartbeat is not None
        nova.run(nova.cell, "UPDATE services SET last_seen_up = UTC_TIMESTAMP() WHERE host='cmp1'")
        assert feed.refresh().writes == 1
        time.sleep(0.3)  # the next heartbeat poll is due
        assert _hosts(cache)["cmp1"]["up"]
    finally:
        feed.dispose()


def test_many_hosts_in_few_transactions(
    nova: Nova, nova_dbs: dict[str, str], corral_db: Database
) -> None:
    from corral.compute import nova_sync

    nova.cells()
    n = nova_sync.NODES_PER_TRANSACTION + 5
    for i in range(n):
        nova.compute(f"many{i:04d}", node_id=i + 1)
    nova.compute("bad-one", node_id=n + 1, vcpus=-1)
    nova.run(
        nova.api,
        "INSERT INTO aggregates (id, uuid, name) VALUES (1, :u, 'a1')",
        u=str(uuid.uuid4()),
    )
    nova.run(
        nova.api,
        "INSERT INTO aggregate_hosts (aggregate_id, host) SELECT 1, host FROM host_mappings",
    )
    feed = NovaFeed(corral_db, nova_dbs["api"], grace=0.0)
    cache = HostCache(corral_db)
    cache.load()
    try:
        first = feed.refresh()
        # Two node transactions, services + heartbeats, the aggregate.
        assert first.writes == 4
        assert set(first.skipped) == {"bad-one"}
        hosts = _hosts(cache)
        assert len(hosts) == n and "bad-one" not in hosts
        (aggregate,) = cache.aggregates().values()
        assert len(aggregate.hosts) == n + 1  # Nova's membership, the skipped host's too
        assert feed.refresh().writes == 0
        nova.run(
            nova.cell,
            "UPDATE compute_nodes SET stats=:s WHERE host='many0003'",
            s=json.dumps({"io_workload": "7"}),
        )
        assert feed.refresh().writes == 1
        assert _hosts(cache)["many0003"]["io_ops"] == 7
    finally:
        feed.dispose()
