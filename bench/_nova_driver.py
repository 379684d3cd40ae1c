"""Nova 34's scheduler, end to end, against upstream Placement over HTTP.

Run by bench/schedule.py with the Nova virtualenv's interpreter (it imports
Nova, never corral):

    python bench/_nova_driver.py SETUP.json

SETUP.json names the Placement URL, the compute nodes (the rows Nova's cell
database would hold for them) and how many decisions to make. Each decision
is one call of Nova's own SchedulerManager.select_destinations (request
filters, GET /allocation_candidates with limit = max_placement_results,
HostState objects for the candidates, HostFilterHandler with the default
enabled_filters, HostWeightHandler with all weighers, the claim with PUT
/allocations/{consumer}, alternates), with the default configuration.

What is not Nova's code: the two cell database queries of a decision
(ServiceList.get_by_binary and ComputeNodeList.get_all_by_uuids) and the
minimum-service-version query of the OWNER_NOVA request filter return the
same rows from memory, so their SQL time is not counted (their object
hydration is). Between decisions, outside the timing, the chosen node's row
takes the instance's usage, as its resource tracker would report it.

Prints one JSON line: the per-decision seconds, the CPU seconds this
process spent on each (Placement's are in its own process), and a few counts.
"""

from __future__ import annotations

import collections
import datetime
import json
import logging
import sys
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

import nova.conf
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from nova import config as nova_config
from nova import context as nova_context
from nova import objects, rpc
from nova.objects import base as obj_base
from nova.objects import service as service_obj
from nova.scheduler import host_manager, manager
from nova.scheduler.client import report

CONF = nova.conf.CONF


class BenchHostManager(host_manager.HostManager):
    """Nova's HostManager with its cell database replaced by rows in memory."""

    def __init__(
        self,
        cell: objects.CellMapping,
        computes: list[dict[str, Any]],
        services: list[dict[str, Any]],
    ) -> None:
        self._cell = cell
        self.compute_rows = {row["uuid"]: row for row in computes}
        self.service_rows = services
        super().__init__()

    def refresh_cells_caches(self) -> None:
        self.cells = {self._cell.uuid: self._cell}
        self.enabled_cells = [self._cell]
        self.host_to_cell_uuid = {}

    def _init_aggregates(self) -> None:
        pass  # no host aggregates in this cloud

    def _init_instance_info(self, computes_by_cell: Any = None) -> None:
        # As after every compute has sent its (empty) instance list.
        self._instance_info = {
            row["host"]: {"instances": {}, "updated": True} for row in self.service_rows
        }

    def _get_computes_for_cells(
        self, context: Any, cells: Any, compute_uuids: Any
    ) -> tuple[Any, Any]:
        services = obj_base.obj_make_list(
            context, objects.ServiceList(context), objects.Service, self.service_rows
        )
        rows = [self.compute_rows[u] for u in compute_uuids if u in self.compute_rows]
        nodes = obj_base.obj_make_list(
            context, objects.ComputeNodeList(context), objects.ComputeNode, rows
        )
        return (
            collections.defaultdict(list, {self._cell.uuid: list(nodes)}),
            {s.host: s for s in services},
        )


class BenchScheduler(manager.SchedulerManager):
    """Nova's SchedulerManager without its RPC service around it."""

    def __init__(self, hosts: BenchHostManager, client: report.SchedulerReportClient) -> None:
        self.host_manager = hosts
        self._client = client
        self.notifier = rpc.get_notifier("scheduler")

    @property
    def placement_client(self) -> report.SchedulerReportClient:
        return self._client


def compute_rows(setup: dict[str, Any], now: datetime.datetime) -> tuple[list, list]:
    computes, services = [], []
    for i, node in enumerate(setup["nodes"], start=1):
        vcpus, memory_mb, local_gb = node["totals"]
        vcpus_used, memory_used, disk_used = node["used"]
        memory_used += node["reserved_memory_mb"]
        stamps = {"created_at": now, "updated_at": now, "deleted_at": None, "deleted": 0}
        computes.append({
            "id": i, "uuid": node["uuid"], "service_id": None, "host": node["host"],
            "hypervisor_hostname": node["host"], "vcpus": vcpus, "memory_mb": memory_mb,
            "local_gb": local_gb, "vcpus_used": vcpus_used, "memory_mb_used": memory_used,
            "local_gb_used": disk_used, "free_ram_mb": memory_mb - memory_used,
            "free_disk_gb": local_gb - disk_used, "disk_available_least": None,
            "current_workload": 0, "running_vms": 0, "hypervisor_type": "QEMU",
            "hypervisor_version": 8002000, "cpu_info": json.dumps({"arch": "x86_64"}),
            "metrics": "[]", "host_ip": node["host_ip"],
            "stats": json.dumps({"num_instances": "0", "io_workload": "0",
                                 "failed_builds": "0"}),
            "numa_topology": None,
            "supported_instances": json.dumps([["x86_64", "kvm", "hvm"]]),
            "pci_stats": None, "cpu_allocation_ratio": node["ratios"][0],
            "ram_allocation_ratio": node["ratios"][1],
            "disk_allocation_ratio": node["ratios"][2], "mapped": 1, **stamps,
        })  # fmt: skip
        services.append({
            "id": i, "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, node["host"])),
            "host": node["host"], "binary": "nova-compute", "topic": "compute",
            "report_count": 1, "disabled": False, "disabled_reason": None,
            "last_seen_up": now, "forced_down": False,
            "version": service_obj.SERVICE_VERSION, **stamps,
        })  # fmt: skip
    return computes, services


def request_spec(ctx: Any, flavor: dict[str, int], instance_uuid: str) -> Any:
    """What nova-conductor sends for one `openstack server create`."""
    return objects.RequestSpec.from_components(
        ctx,
        instance_uuid,
        {"properties": {}},
        objects.Flavor(
            id=1,
            flavorid="1",
            name="bench",
            vcpus=flavor["vcpus"],
            memory_mb=flavor["memory_mb"],
            root_gb=flavor["root_gb"],
            ephemeral_gb=0,
            swap=0,
            extra_specs={},
            rxtx_factor=1.0,
            vcpu_weight=0,
            disabled=False,
            is_public=True,
            description=None,
        ),
        None,
        objects.InstancePCIRequests(requests=[]),
        {},
        None,
        None,
        project_id="bench",
        user_id="bench",
    )


def consume(row: dict[str, Any], flavor: dict[str, int]) -> None:
    """The chosen node's record after its resource tracker reported the instance."""
    row["vcpus_used"] += flavor["vcpus"]
    row["memory_mb_used"] += flavor["memory_mb"]
    row["free_ram_mb"] -= flavor["memory_mb"]
    row["local_gb_used"] += flavor["root_gb"]
    row["free_disk_gb"] -= flavor["root_gb"]
    row["updated_at"] = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def main() -> int:
    with open(sys.argv[1]) as f:
        setup = json.load(f)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Nova's defaults but for these two: no message bus (notifications are off
    # by default anyway) and how long a service heartbeat counts.
    conf_file = Path(sys.argv[1]).with_name("nova.conf")
    conf_file.write_text(
        f"[DEFAULT]\ntransport_url = fake:/\nservice_down_time = {setup['service_down_time']}\n"
    )
    nova_config.parse_args(
        ["nova-scheduler", "--config-file", str(conf_file)],
        default_config_files=[],
        configure_db=False,
    )
    objects.register_all()
    # Stands in for the per-request query of the lowest nova-compute version
    # (every compute here runs Nova 34, so OWNER_NOVA is required).
    objects.service.get_minimum_version_all_cells = lambda *args, **kwargs: (
        service_obj.SERVICE_VERSION
    )

    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    computes, services = compute_rows(setup, now)
    cell = objects.CellMapping(
        uuid=setup["cell_uuid"],
        name="cell1",
        disabled=False,
        transport_url="fake:/",
        database_connection="sqlite://",
    )
    hosts = BenchHostManager(cell, computes, services)
    session = ks_session.Session(auth=token_endpoint.Token(setup["placement_url"], "admin"))
    client = report.SchedulerReportClient(
        adapter=ks_adapter.Adapter(session, service_type="placement", raise_exc=False)
    )
    scheduler = BenchScheduler(hosts, client)
    ctx = nova_context.get_admin_context()
    flavor = setup["flavor"]

    samples: list[float] = []
    cpu: list[float] = []
    alternates = 0
    chosen: set[str] = set()
    started = time.monotonic()
    total = setup["warmup"] + setup["decisions"]
    for n in range(total):
        instance_uuid = str(uuidlib.uuid4())
        spec = request_spec(ctx, flavor, instance_uuid)
        t0 = time.perf_counter()
        c0 = time.process_time()
        selections = scheduler.select_destinations(
            ctx, spec_obj=spec, instance_uuids=[instance_uuid],
            return_objects=True, return_alternates=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - t0
        used_cpu = time.process_time() - c0
        picked = selections[0][0]
        consume(hosts.compute_rows[picked.compute_node_uuid], flavor)
        if n < setup["warmup"]:
            continue
        samples.append(elapsed)
        cpu.append(used_cpu)
        alternates += len(selections[0]) - 1
        chosen.add(picked.compute_node_uuid)
        if len(samples) >= setup["min_decisions"] and (
            time.monotonic() - started > setup["budget_s"]
        ):
            break
    print(json.dumps({
        "samples": samples,
        "cpu": cpu,
        "alternates": alternates,
        "distinct_hosts": len(chosen),
        "max_placement_results": CONF.scheduler.max_placement_results,
        "enabled_filters": list(CONF.filter_scheduler.enabled_filters),
        "weighers": [type(w).__name__ for w in hosts.weighers],
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
