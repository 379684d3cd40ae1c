"""`corral demo`: a small simulated cloud in a running corral, then a burst of
instances scheduled onto it, over the same HTTP API any client uses.

The cloud: `hosts` compute hosts named demo-NN (three sizes), each the root
resource provider of its VCPU, MEMORY_MB and DISK_GB; two aggregates that
make the zones az1 and az2; one aggregate isolated to the tenant `gold`
(`filter_tenant_id`); one anti-affinity server group. Every step is
idempotent by name, so `--force` can run it again over an earlier demo.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any, TextIO

from corral.cli_output import Progress, render_explanation, table
from corral.client import ApiError, CorralClient

PREFIX = "demo-"
GOLD_PROJECT = "gold"


class DemoRefused(Exception):
    """The service is not one the demo may fill."""


@dataclass(frozen=True)
class DemoHost:
    name: str
    az: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    ip: str


@dataclass(frozen=True)
class DemoFlavor:
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int


# (vcpus, memory_mb, disk_gb): a mix, so the weighers have something to tell apart.
_SIZES = ((16, 65_536, 500), (32, 131_072, 1_000), (8, 32_768, 250))
FLAVORS = (
    DemoFlavor("demo.small", 1, 2_048, 20),
    DemoFlavor("demo.medium", 2, 4_096, 40),
    DemoFlavor("demo.large", 8, 16_384, 80),
)
# What fits nowhere: the demo's NoValidHost.
HUGE = DemoFlavor("demo.huge", 256, 1_048_576, 10_000)


def plan_hosts(count: int) -> list[DemoHost]:
    """`count` hosts, the first half in az1 and the rest in az2."""
    half = (count + 1) // 2
    return [
        DemoHost(
            name=f"{PREFIX}{i + 1:02d}",
            az="az1" if i < half else "az2",
            vcpus=_SIZES[i % len(_SIZES)][0],
            memory_mb=_SIZES[i % len(_SIZES)][1],
            disk_gb=_SIZES[i % len(_SIZES)][2],
            ip=f"192.0.2.{i + 1}" if i < 254 else f"198.51.100.{i - 253}",
        )
        for i in range(count)
    ]


@dataclass(frozen=True)
class DemoRequest:
    flavor: DemoFlavor
    az: str | None
    project: str
    in_group: bool


def plan_requests(count: int, group_size: int) -> list[DemoRequest]:
    """`count` single-instance requests: mixed flavors, some pinned to a zone, a few
    from the isolated tenant, the first `group_size` in the anti-affinity group."""
    zones = itertools.cycle((None, "az1", "az2"))
    return [
        DemoRequest(
            flavor=FLAVORS[i % len(FLAVORS)],
            az=next(zones),
            project=GOLD_PROJECT if i % 7 == 3 else "demo",
            in_group=i < group_size,
        )
        for i in range(count)
    ]


def request_spec(flavor: DemoFlavor, **extra: Any) -> dict[str, Any]:
    return {
        "flavor": {
            "name": flavor.name,
            "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb,
            "root_gb": flavor.root_gb,
        },
        **{key: value for key, value in extra.items() if value is not None},
    }


def _ensure_aggregate(
    client: CorralClient,
    existing: dict[str, dict[str, Any]],
    name: str,
    zone: str | None,
    hosts: list[str],
) -> dict[str, Any]:
    aggregate = existing.get(name) or client.create_aggregate(name, zone)
    for host in hosts:
        if host not in aggregate.get("hosts", []):
            aggregate = client.aggregate_action(aggregate["id"], "add_host", {"host": host})
    return aggregate


def build_cloud(client: CorralClient, hosts: list[DemoHost], out: TextIO) -> str:
    """Register the hosts, aggregates and server group; the group's uuid."""
    progress = Progress(out, len(hosts), "registering hosts")
    for host in hosts:
        provider = client.provider_by_name(host.name) or client.create_provider(host.name)
        client.set_inventories(
            provider,
            {"VCPU": host.vcpus, "MEMORY_MB": host.memory_mb, "DISK_GB": host.disk_gb},
        )
        client.register_host(
            host.name,
            {
                "nodename": host.name,
                "provider_uuid": provider,
                "hypervisor_type": "QEMU",
                "hypervisor_hostname": host.name,
                "host_ip": host.ip,
                "supported_instances": [["x86_64", "kvm", "hvm"]],
                "cpu_info": {"arch": "x86_64", "vendor": "Intel"},
            },
        )
        progress.step()
    progress.finish()
    known = {a["name"]: a for a in client.list_aggregates()}
    isolated: list[str] = []
    for zone in ("az1", "az2"):
        members = [h.name for h in hosts if h.az == zone]
        if members:
            _ensure_aggregate(client, known, f"{PREFIX}{zone}", zone, members)
            # The last host of each zone serves the gold tenant only.
            isolated.append(members[-1])
    gold = _ensure_aggregate(client, known, f"{PREFIX}tenant-{GOLD_PROJECT}", None, isolated)
    if gold.get("metadata", {}).get("filter_tenant_id") != GOLD_PROJECT:
        client.aggregate_action(
            gold["id"], "set_metadata", {"metadata": {"filter_tenant_id": GOLD_PROJECT}}
        )
    group = client.create_server_group(f"{PREFIX}web", "anti-affinity")
    out.write(
        f"cloud: {len(hosts)} hosts in az1/az2; {', '.join(isolated)} reserved for tenant "
        f"{GOLD_PROJECT!r} (filter_tenant_id, enforced where AggregateMultiTenancyIsolation "
        f"is enabled); anti-affinity group {group['id']}\n"
    )
    return str(group["id"])


def schedule_burst(
    client: CorralClient, requests: list[DemoRequest], group: str, out: TextIO
) -> list[tuple[str, DemoRequest, dict[str, Any] | None]]:
    """Schedule each request alone, as a stream of boots arrives; (uuid, request,
    chosen selection or None for no valid host)."""
    decisions: list[tuple[str, DemoRequest, dict[str, Any] | None]] = []
    progress = Progress(out, len(requests), "scheduling")
    for request in requests:
        spec = request_spec(
            request.flavor,
            availability_zone=request.az,
            project_id=request.project,
            user_id="demo",
            instance_group_uuid=group if request.in_group else None,
        )
        try:
            answer = client.select_destinations(spec, return_alternates=False)
        except ApiError as exc:
            if not exc.no_valid_host:
                raise
            decisions.append(("-", request, None))
        else:
            decisions.append((answer["instance_uuids"][0], request, answer["selections"][0][0]))
        progress.step()
    failed = sum(1 for _, _, chosen in decisions if chosen is None)
    progress.finish(f"({len(decisions) - failed} placed, {failed} no valid host)")
    return decisions


def render_decisions(decisions: list[tuple[str, DemoRequest, dict[str, Any] | None]]) -> str:
    rows = [
        (
            uuid[:8],
            request.flavor.name,
            request.project,
            request.az or "any",
            "group" if request.in_group else "",
            chosen["service_host"] if chosen else "NO VALID HOST",
            (chosen.get("availability_zone") or "") if chosen else "",
        )
        for uuid, request, chosen in decisions
    ]
    per_host = Counter(chosen["service_host"] for _, _, chosen in decisions if chosen)
    spread = ", ".join(f"{host}: {n}" for host, n in sorted(per_host.items()))
    return (
        table(("instance", "flavor", "project", "wanted az", "group", "host", "az"), rows)
        + f"\n\ninstances per host: {spread or '-'}"
    )


def run(client: CorralClient, out: TextIO, *, hosts: int, instances: int, force: bool) -> int:
    """The whole demo; DemoRefused when the service already has compute hosts."""
    existing = client.list_hosts(limit=1)
    if existing and not force:
        raise DemoRefused(
            f"the service at {client.url} already holds compute hosts "
            f"(e.g. {existing[0]['name']!r}); corral demo only fills an empty one. "
            "Use --force to add the demo cloud anyway."
        )
    planned = plan_hosts(hosts)
    group = build_cloud(client, planned, out)
    for host in planned:
        client.heartbeat(host.name)
    group_size = min(4, len(planned))
    decisions = schedule_burst(client, plan_requests(instances, group_size), group, out)
    out.write("\n" + render_decisions(decisions) + "\n\n")
    out.write(
        f"Why {HUGE.name} ({HUGE.vcpus} vCPU, {HUGE.memory_mb // 1024} GiB) fits nowhere "
        "(POST /scheduler/v1/explain, nothing claimed):\n\n"
    )
    out.write(render_explanation(client.explain(request_spec(HUGE))) + "\n")
    return 0
