"""The replay: a workload's events through one throw-away cloud, in order,
with the series a comparison needs.

Each create is one select_destinations call through the cloud's real
pipeline (corral.whatif.cloud.ThrowawayCloud.create); each delete is the
instance delete (allocations and record). Per event the replay keeps the
virtual time, the hosts holding at least one instance, and the decision's
wall time; refusals are counted by the stage that removed the last hosts
(from the NoValidHost explanation).

Not done yet: server-group workloads (a workload naming a server group is
refused), utilisation per resource class, stranded capacity, zone balance,
plots and the HTML report.
"""

from __future__ import annotations

import csv
import time
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corral.errors import CorralError
from corral.scheduler.explain import Explanation
from corral.scheduler.spec import Flavor, NoValidHost, RequestSpec
from corral.whatif.cloud import ThrowawayCloud
from corral.whatif.workload import Event, WorkloadError

_NAMESPACE = uuidlib.UUID("0b8a4f5e-6d0c-4c1e-8f3a-2b7d9e1c4a55")


@dataclass
class Result:
    """One configuration's replay."""

    name: str
    placed: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    deleted: int = 0
    placements: dict[str, str] = field(default_factory=dict)
    # (virtual time, hosts in use, decision seconds) per create
    series: list[tuple[float, int, float]] = field(default_factory=list)


def instance_uuid(instance: str) -> str:
    """The uuid the replay gives a workload's instance id (a uuid stays itself)."""
    try:
        return str(uuidlib.UUID(instance))
    except ValueError:
        return str(uuidlib.uuid5(_NAMESPACE, instance))


def _reason(exc: NoValidHost) -> str:
    detail = exc.detail
    if isinstance(detail, Explanation):
        if detail.refusal:
            return detail.refusal[:80]
        emptied = [s.stage for s in detail.stages if s.hosts_in and not s.hosts_out]
        if emptied:
            return emptied[0]
    return "no valid host"


def replay(
    cloud: ThrowawayCloud,
    events: Sequence[Event],
    name: str,
    *,
    step: Callable[[], None] | None = None,
) -> Result:
    """Every event, in order, through the cloud; the result's series."""
    if any(e.server_group for e in events):
        raise WorkloadError("workloads naming a server group are not simulated yet")
    result = Result(name)
    per_host: Counter[str] = Counter()
    for event in events:
        uuid = instance_uuid(event.instance)
        if event.action == "create":
            assert event.shape is not None
            spec = RequestSpec(
                flavor=Flavor(
                    vcpus=event.shape.vcpus,
                    memory_mb=event.shape.memory_mb,
                    root_gb=event.shape.disk_gb,
                    name=event.shape.name,
                    flavorid=event.shape.name,
                ),
                project_id=event.project,
                user_id="whatif",
                instance_uuid=uuid,
                availability_zone=event.zone,
            )
            started = time.perf_counter()
            try:
                [[chosen]] = cloud.create(spec, [uuid])
            except NoValidHost as exc:
                result.refused[_reason(exc)] += 1
            except CorralError as exc:
                result.refused[f"refused: {str(exc)[:60]}"] += 1
            else:
                result.placed += 1
                result.placements[event.instance] = chosen.service_host
                per_host[chosen.service_host] += 1
            result.series.append((event.time, len(per_host), time.perf_counter() - started))
        elif event.instance in result.placements:
            cloud.delete(uuid)
            host = result.placements.pop(event.instance)
            per_host[host] -= 1
            if not per_host[host]:
                del per_host[host]
            result.deleted += 1
        if step is not None:
            step()
    return result


def write_series(result: Result, path: Path) -> None:
    """The result's series as CSV: time_s, hosts_in_use, decision_ms."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(("time_s", "hosts_in_use", "decision_ms"))
        for when, hosts, seconds in result.series:
            writer.writerow((f"{when:.3f}", hosts, f"{seconds * 1000:.3f}"))
