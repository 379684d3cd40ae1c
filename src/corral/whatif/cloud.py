"""A throw-away copy of a cloud with corral's real scheduler over it.

`ThrowawayCloud` writes a snapshot (corral.whatif.snapshot) into a fresh,
migrated SQLite database (a file in a temporary directory) through the same
writers the HTTP API uses (Placement's providers, inventories, traits,
aggregates and allocations; /scheduler/v1's hosts, aggregates, server groups
and instances), loads the Placement index and the host cache over it, and
builds `corral.scheduler.engine.Scheduler` from an oslo.config configuration
as `Scheduler.from_conf` does, with a seeded RNG so a replay is repeatable.
`create` asks it for hosts as the API's select_destinations does (request
filters, Placement rules, filters, weighers, the claim); `delete` removes an
instance as DELETE /scheduler/v1/instances/{uuid} does (its allocations and
its record), so its usage returns.

A spec file (`spec_snapshot`) describes a cloud in a few lines instead: host
classes times counts, spread over zones, and aggregates of classes; it
becomes a snapshot and loads the same way.
"""

from __future__ import annotations

import datetime
import json
import random
import tempfile
import uuid as uuidlib
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import jsonschema
from oslo_config import cfg

from corral.compute import aggregates as compute_aggregates
from corral.compute import hosts as compute_hosts
from corral.compute import instances as compute_instances
from corral.compute.instances import PlacedInstance
from corral.conf import new_conf
from corral.placement import aggregates as placement_aggregates
from corral.placement import inventories as placement_inventories
from corral.placement import providers as placement_providers
from corral.placement import resource_classes, traits
from corral.placement.allocations import ConsumerWrite, WriteSettings, set_allocations
from corral.placement.consumers import ConsumerSpec, Defaults
from corral.placement.index import PlacementIndex
from corral.scheduler import registry
from corral.scheduler.engine import Scheduler
from corral.scheduler.host_cache import HostCache
from corral.scheduler.pipeline import settings_from_conf
from corral.scheduler.spec import RequestSpec, Selection
from corral.store import compute_hosts as host_store
from corral.store import host_aggregates as aggregate_store
from corral.store import migrate
from corral.store import server_groups as group_store
from corral.store.compute_hosts import NodeValues
from corral.store.database import Database, utcnow
from corral.store.inventories import Inventory
from corral.whatif.snapshot import FORMAT, VERSION, Snapshot, SnapshotError, validate

AZ_KEY = "availability_zone"


class ThrowawayCloud:
    """One snapshot in a database of its own, with one scheduler configuration.

    Use as a context manager (or call `close`): the database and its
    directory are removed at the end. Not shared between threads: a replay
    asks one request at a time.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        conf: cfg.ConfigOpts | None = None,
        *,
        seed: int = 0,
        directory: Path | None = None,
    ) -> None:
        self.snapshot = validate(snapshot)
        self.conf = conf if conf is not None else default_conf()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="corral-whatif-")
            directory = Path(self._tmp.name)
        self.path = directory / "cloud.db"
        self.db = Database(f"sqlite:///{self.path}")
        try:
            migrate.upgrade(self.db)
            load_snapshot(self.db, self.snapshot, self.conf)
            self._alive = [h["name"] for h in self.snapshot["hosts"] if h.get("up", True)]
            # A large cloud takes longer to write than service_down_time: the
            # first hosts written must not count as down when the replay starts.
            self._heartbeat_all()
            self.index = PlacementIndex(self.db)
            self.index.load()
            self.hosts = HostCache(
                self.db,
                service_down_time=self.conf.service_down_time,
                default_availability_zone=self.conf.default_availability_zone,
            )
            self.hosts.load()
            settings, request_filters = settings_from_conf(self.conf)
            # What Scheduler.from_conf builds, with the seeded RNG it does not take.
            self.scheduler = Scheduler(
                self.db,
                self.index,
                self.hosts,
                filters=registry.enabled_filters(self.conf),
                weighers=registry.enabled_weighers(self.conf),
                settings=settings,
                request_filters=request_filters,
                rng=random.Random(seed),
            )
        except BaseException:
            self.close()
            raise

    # --- the instance life cycle -------------------------------------------------------

    def create(
        self, spec: RequestSpec, instance_uuids: Sequence[str], *, return_alternates: bool = False
    ) -> list[list[Selection]]:
        """Hosts for the instances, claimed and recorded: the scheduler's
        select_destinations as the HTTP door calls it (the zone checked).
        NoValidHost, with its explanation, when they do not fit."""
        self.keep_alive()
        return self.scheduler.select_destinations(
            spec, instance_uuids, return_alternates=return_alternates, check_zone=True
        )

    def delete(self, instance_uuid: str) -> None:
        """Forget the instance and give back what it holds, as DELETE
        /scheduler/v1/instances/{uuid} does; NotFound for an unknown one."""
        compute_instances.delete_instance(self.db, instance_uuid)

    def keep_alive(self) -> None:
        """Heartbeat the hosts that were up when the snapshot was taken, once
        half of service_down_time has passed: a replay can run longer than
        that, and a simulated host must not go down for lack of a compute
        service behind it."""
        if (utcnow() - self._last_heartbeat).total_seconds() >= self.conf.service_down_time / 2:
            self._heartbeat_all()

    def _heartbeat_all(self) -> None:
        now = utcnow()
        with self.db.write() as conn:
            host_store.record_heartbeats(conn, dict.fromkeys(self._alive, now))
        self._last_heartbeat = now

    # --- clean-up ------------------------------------------------------------------

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ThrowawayCloud:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def default_conf(args: Sequence[str] = (), config_files: Sequence[str] = ()) -> cfg.ConfigOpts:
    """corral's options with their defaults (and these files and arguments)."""
    conf = new_conf()
    conf(list(args), project="corral", default_config_files=list(config_files))
    return conf


# --- writing a snapshot into a database ------------------------------------------------


def load_snapshot(db: Database, snapshot: Snapshot, conf: cfg.ConfigOpts) -> None:
    """Write the (validated) snapshot into an empty, migrated database through
    the API's own writers, so every rule a live write meets holds here too."""
    for name in snapshot.get("resource_classes", []):
        resource_classes.ensure_class(db, name)
    for name in snapshot.get("traits", []):
        traits.ensure_trait(db, name)
    for p in snapshot["providers"]:
        placement_providers.create_provider(
            db, name=p["name"], uuid=p["uuid"], parent_uuid=p.get("parent_uuid")
        )
        if p.get("inventories"):
            generation = placement_providers.get_provider(db, p["uuid"]).generation
            placement_inventories.set_inventories(
                db,
                p["uuid"],
                generation,
                {rc: Inventory(**fields) for rc, fields in p["inventories"].items()},
                reserved_can_be_total=True,
            )
        if p.get("traits"):
            generation = placement_providers.get_provider(db, p["uuid"]).generation
            traits.set_provider_traits(db, p["uuid"], list(p["traits"]), generation)
        if p.get("aggregates"):
            generation = placement_providers.get_provider(db, p["uuid"]).generation
            placement_aggregates.set_provider_aggregates(
                db, p["uuid"], list(p["aggregates"]), generation
            )
    _load_hosts(db, snapshot)
    _load_aggregates(db, snapshot)
    _load_groups_and_instances(db, snapshot)
    writes = [
        ConsumerWrite(
            ConsumerSpec(
                uuid=c["consumer_uuid"],
                project_id=c.get("project_id") or None,
                user_id=c.get("user_id") or None,
            ),
            {rp: dict(resources) for rp, resources in c["allocations"].items()},
        )
        for c in snapshot.get("allocations", [])
    ]
    settings = WriteSettings(
        retries=conf.placement.allocation_conflict_retry_count,
        defaults=Defaults(
            project_id=conf.placement.incomplete_consumer_project_id,
            user_id=conf.placement.incomplete_consumer_user_id,
        ),
    )
    for start in range(0, len(writes), 1000):
        set_allocations(db, writes[start : start + 1000], settings)


def _node_values(node: dict[str, Any]) -> NodeValues:
    return NodeValues(
        provider_uuid=node["provider_uuid"],
        hypervisor_type=node.get("hypervisor_type", ""),
        hypervisor_version=node.get("hypervisor_version", 0),
        hypervisor_hostname=node.get("hypervisor_hostname") or node["nodename"],
        cpu_info=node.get("cpu_info", {}),
        capabilities=node.get("capabilities", {}),
        metrics=node.get("metrics", {}),
        supported_instances=node.get("supported_instances", []),
        host_ip=node.get("host_ip"),
        numa_topology=node.get("numa_topology"),
        pci_stats=node.get("pci_stats", []),
        num_io_ops=node.get("num_io_ops", 0),
        failed_builds=node.get("failed_builds", 0),
        cell_uuid=node.get("cell_uuid"),
    )


def _load_hosts(db: Database, snapshot: Snapshot) -> None:
    nodes = [
        (h["name"], n["nodename"], _node_values(n)) for h in snapshot["hosts"] for n in h["nodes"]
    ]
    refused = compute_hosts.register_nodes(db, nodes)
    if refused:
        (host, node), why = next(iter(refused.items()))
        raise SnapshotError(f"snapshot host {host!r} node {node!r}: {why}")
    for h in snapshot["hosts"]:
        # A host that was down when the snapshot was taken stays down here.
        forced_down = bool(h.get("forced_down", False)) or not h.get("up", True)
        if h.get("disabled") or forced_down:
            compute_hosts.update_service(
                db,
                h["name"],
                {
                    "disabled": bool(h.get("disabled", False)),
                    "disabled_reason": h.get("disabled_reason"),
                    "forced_down": forced_down,
                },
            )


def _load_aggregates(db: Database, snapshot: Snapshot) -> None:
    for a in snapshot.get("aggregates", []):
        metadata = dict(a.get("metadata", {}))
        with db.write() as conn:
            # The snapshot's uuid is kept: Placement aggregates mirror it.
            new_id = aggregate_store.insert(
                conn, a.get("uuid") or str(uuidlib.uuid4()), a["name"], metadata, utcnow()
            )
        for host in a.get("hosts", []):
            compute_aggregates.add_host(db, new_id, host)


def _load_groups_and_instances(db: Database, snapshot: Snapshot) -> None:
    group_of: dict[str, str] = {}
    now = utcnow()
    with db.write() as conn:
        for g in snapshot.get("server_groups", []):
            group_store.insert(
                conn,
                uuid=g["uuid"],
                name=g["name"],
                project_id=g.get("project_id", ""),
                user_id=g.get("user_id", ""),
                policy=g["policy"],
                rules=g.get("rules", {}),
                now=now,
            )
            for member in g.get("members", []):
                group_of[member] = g["uuid"]
    placed = [
        PlacedInstance(
            uuid=i["uuid"],
            host=i["host"],
            node=i["node"],
            project_id=i.get("project_id", ""),
            user_id=i.get("user_id", ""),
            provider_uuid=i.get("provider_uuid"),
            flavor=dict(i.get("flavor", {})),
            image_properties=dict(i.get("image_properties", {})),
        )
        for i in snapshot.get("instances", [])
    ]
    for start in range(0, len(placed), 1000):
        chunk = placed[start : start + 1000]
        with db.write() as conn:
            compute_instances.record_new_in(
                conn, chunk, {i.uuid: group_of[i.uuid] for i in chunk if i.uuid in group_of}
            )
    # Members the snapshot names without an instance record (not placed yet).
    recorded = {i.uuid for i in placed}
    orphans: dict[str, list[str]] = {}
    for member, group in group_of.items():
        if member not in recorded:
            orphans.setdefault(group, []).append(member)
    if orphans:
        with db.write() as conn:
            for group, members in orphans.items():
                found = group_store.get_by_uuid(conn, group)
                assert found is not None
                group_store.add_members(conn, found.id, members, now)


# --- a cloud from a spec file ---------------------------------------------------------

_COUNT = {"type": "integer", "minimum": 1, "maximum": 200_000}
_SIZE = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}
_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"}
SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["host_classes"],
    "additionalProperties": False,
    "properties": {
        "zones": {"type": "array", "items": _NAME, "maxItems": 100, "uniqueItems": True},
        "host_classes": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["name", "count", "vcpus", "memory_mb", "disk_gb"],
                "additionalProperties": False,
                "properties": {
                    "name": _NAME,
                    "count": _COUNT,
                    "vcpus": _SIZE,
                    "memory_mb": _SIZE,
                    "disk_gb": _SIZE,
                    "reserved_memory_mb": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    "allocation_ratios": {
                        "type": "object",
                        "propertyNames": {"enum": ["VCPU", "MEMORY_MB", "DISK_GB"]},
                        "additionalProperties": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 1000,
                        },
                    },
                    "traits": {
                        "type": "array",
                        "items": {"type": "string", "pattern": "^[A-Z0-9_]{1,255}$"},
                        "maxItems": 100,
                    },
                    "zones": {"type": "array", "items": _NAME, "maxItems": 100},
                },
            },
        },
        "aggregates": {
            "type": "array",
            "maxItems": 1000,
            "items": {
                "type": "object",
                "required": ["name", "classes"],
                "additionalProperties": False,
                "properties": {
                    "name": _NAME,
                    "classes": {"type": "array", "items": _NAME, "minItems": 1},
                    "metadata": {
                        "type": "object",
                        "maxProperties": 100,
                        "additionalProperties": {"type": "string", "maxLength": 255},
                    },
                },
            },
        },
    },
}
_SPEC_VALIDATOR = jsonschema.Draft202012Validator(SPEC_SCHEMA)
MAX_SPEC_HOSTS = 200_000


def spec_snapshot(spec: Any) -> Snapshot:
    """The snapshot of a spec document (see SPEC_SCHEMA):

        {"zones": ["az1", "az2"],
         "host_classes": [{"name": "big", "count": 100, "vcpus": 64,
                           "memory_mb": 262144, "disk_gb": 2000,
                           "allocation_ratios": {"VCPU": 4.0}, "traits": [...],
                           "zones": [...]}],
         "aggregates": [{"name": "gpu", "classes": ["big"], "metadata": {...}}]}

    Each class's hosts (named CLASS-NNNN) are dealt round-robin over the
    class's zones (default: the top-level zones; none: no zone). Provider and
    host uuids derive from the names, so one spec always gives one cloud.
    """
    error = jsonschema.exceptions.best_match(_SPEC_VALIDATOR.iter_errors(spec))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise SnapshotError(f"spec {where}: {error.message[:300]}")
    total = sum(c["count"] for c in spec["host_classes"])
    if total > MAX_SPEC_HOSTS:
        raise SnapshotError(f"spec: {total} hosts, more than {MAX_SPEC_HOSTS}")
    classes = {c["name"]: c for c in spec["host_classes"]}
    if len(classes) != len(spec["host_classes"]):
        raise SnapshotError("spec host_classes: a class name appears twice")
    namespace = uuidlib.UUID("5e7c0c2a-1b7e-4a8e-9a43-6f1f3c0de1a1")
    providers: list[dict[str, Any]] = []
    hosts: list[dict[str, Any]] = []
    in_zone: dict[str, list[str]] = {}
    of_class: dict[str, list[str]] = {}
    custom_traits: set[str] = set()
    for c in spec["host_classes"]:
        zones = c.get("zones", spec.get("zones", []))
        ratios = c.get("allocation_ratios", {})
        for i in range(c["count"]):
            name = f"{c['name']}-{i + 1:04d}"
            rp = str(uuidlib.uuid5(namespace, name))
            inventories = {
                "VCPU": {"total": c["vcpus"], "allocation_ratio": ratios.get("VCPU", 1.0)},
                "MEMORY_MB": {
                    "total": c["memory_mb"],
                    "reserved": c.get("reserved_memory_mb", 0),
                    "allocation_ratio": ratios.get("MEMORY_MB", 1.0),
                },
                "DISK_GB": {"total": c["disk_gb"], "allocation_ratio": ratios.get("DISK_GB", 1.0)},
            }
            providers.append(
                {
                    "uuid": rp,
                    "name": name,
                    "inventories": inventories,
                    "traits": sorted(set(c.get("traits", []))),
                }
            )
            custom_traits.update(t for t in c.get("traits", []) if t.startswith("CUSTOM_"))
            hosts.append(
                {
                    "name": name,
                    "nodes": [
                        {
                            "nodename": name,
                            "provider_uuid": rp,
                            "hypervisor_type": "QEMU",
                            "hypervisor_hostname": name,
                            "supported_instances": [["x86_64", "kvm", "hvm"]],
                            "cpu_info": {"arch": "x86_64"},
                        }
                    ],
                }
            )
            of_class.setdefault(c["name"], []).append(name)
            if zones:
                in_zone.setdefault(zones[i % len(zones)], []).append(name)
    aggregates = [
        {
            "uuid": str(uuidlib.uuid5(namespace, f"zone:{zone}")),
            "name": f"zone-{zone}",
            "hosts": members,
            "metadata": {AZ_KEY: zone},
        }
        for zone, members in sorted(in_zone.items())
    ]
    for a in spec.get("aggregates", []):
        unknown = sorted(set(a["classes"]) - set(classes))
        if unknown:
            raise SnapshotError(f"spec aggregate {a['name']!r}: unknown classes {unknown}")
        aggregates.append(
            {
                "uuid": str(uuidlib.uuid5(namespace, f"aggregate:{a['name']}")),
                "name": a["name"],
                "hosts": [h for cls in a["classes"] for h in of_class[cls]],
                "metadata": dict(a.get("metadata", {})),
            }
        )
    return validate(
        {
            "format": FORMAT,
            "version": VERSION,
            "taken_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "source": "spec",
            "traits": sorted(custom_traits),
            "providers": providers,
            "hosts": hosts,
            "aggregates": aggregates,
        }
    )


def load_cloud(path: Path | str) -> Snapshot:
    """A snapshot file, or a spec file (JSON with `host_classes`) made one."""
    from corral.whatif import snapshot as snapshot_file

    path = Path(path)
    try:
        head = path.read_bytes()[:2]
    except OSError as exc:
        raise SnapshotError(f"{path}: {exc.strerror or exc}") from None
    if head != b"\x1f\x8b":
        try:
            if path.stat().st_size <= 16 * 1024 * 1024:
                document = json.loads(path.read_text())
                if isinstance(document, dict) and "host_classes" in document:
                    return spec_snapshot(document)
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"{path}: not a JSON snapshot or spec ({exc})") from None
    return snapshot_file.load(path)
