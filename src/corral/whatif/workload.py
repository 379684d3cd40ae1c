"""Workloads for a replay: a list of create and delete events in time order.

Three sources, each validated with bounds before a replay starts:

- a trace file, CSV (with a header) or JSONL (one object a line), with the
  fields `time` (seconds from the start, non-decreasing), `action` (create or
  delete), `instance` (any id up to 255 characters), and for a create either
  `flavor` (a name `flavors` knows) or `vcpus`, `memory_mb` and `disk_gb`, and
  optionally `project`, `server_group`, `zone`;
- the public Azure VM trace's `vmtable.csv` as published (no header; vmid,
  subscriptionid, deploymentid, vmcreated, vmdeleted, maxcpu, avgcpu,
  p95maxcpu, vmcategory, vmcorecountbucket, vmmemorybucket): a create at
  vmcreated and a delete at vmdeleted per VM, the subscription as project,
  the core and memory buckets as the flavor (an open bucket ">N" as 2 x N);
- a generator with named, seeded distributions (`generate`).

A bad row is refused with its line number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_EVENTS = 20_000_000
MAX_FIELD = 255
MAX_TIME = 10 * 365 * 86_400.0
MAX_AMOUNT = 2_147_483_647
ACTIONS = ("create", "delete")


class WorkloadError(ValueError):
    """The workload cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class Shape:
    """What a create asks for: a flavor's name and resources."""

    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int


@dataclass(frozen=True, slots=True)
class Event:
    time: float
    action: str
    instance: str
    shape: Shape | None = None
    project: str = "whatif"
    server_group: str | None = None
    zone: str | None = None


# Nova's historical default flavors: the generator's and a trace's named shapes.
FLAVORS: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("m1.tiny", 1, 512, 1),
        Shape("m1.small", 1, 2048, 20),
        Shape("m1.medium", 2, 4096, 40),
        Shape("m1.large", 4, 8192, 80),
        Shape("m1.xlarge", 8, 16384, 160),
    )
}


def _text(value: Any, field: str, line: int, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise WorkloadError(f"line {line}: {field} is required")
        return None
    text = str(value)
    if len(text) > MAX_FIELD:
        raise WorkloadError(f"line {line}: {field} is longer than {MAX_FIELD} characters")
    return text


def _int(value: Any, field: str, line: int, low: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise WorkloadError(f"line {line}: {field} {value!r} is not an integer") from None
    if isinstance(value, float) and value != number:
        raise WorkloadError(f"line {line}: {field} {value!r} is not an integer")
    if not low <= number <= MAX_AMOUNT:
        raise WorkloadError(f"line {line}: {field} {number} is not between {low} and {MAX_AMOUNT}")
    return number


def event_from_record(
    record: Mapping[str, Any], line: int, flavors: Mapping[str, Shape] = FLAVORS
) -> Event:
    """One trace record (a CSV row or a JSONL object) as an Event."""
    try:
        when = float(record.get("time", ""))
    except (TypeError, ValueError):
        raise WorkloadError(f"line {line}: time {record.get('time')!r} is not a number") from None
    if not 0 <= when <= MAX_TIME:
        raise WorkloadError(f"line {line}: time {when} is not between 0 and {MAX_TIME:.0f}")
    action = record.get("action")
    if action not in ACTIONS:
        raise WorkloadError(f"line {line}: action {action!r} is not create or delete")
    instance = _text(record.get("instance"), "instance", line, required=True)
    assert instance is not None
    shape = None
    if action == "create":
        name = _text(record.get("flavor"), "flavor", line, required=False)
        if record.get("vcpus") not in (None, ""):
            shape = Shape(
                name or "trace",
                _int(record.get("vcpus"), "vcpus", line, 1),
                _int(record.get("memory_mb"), "memory_mb", line, 1),
                _int(record.get("disk_gb") or 0, "disk_gb", line, 0),
            )
        elif name is not None and name in flavors:
            shape = flavors[name]
        else:
            raise WorkloadError(
                f"line {line}: a create needs vcpus/memory_mb/disk_gb or a known flavor "
                f"(one of {', '.join(sorted(flavors))}), not {name!r}"
            )
    return Event(
        when,
        str(action),
        instance,
        shape,
        _text(record.get("project"), "project", line, required=False) or "whatif",
        _text(record.get("server_group"), "server_group", line, required=False),
        _text(record.get("zone"), "zone", line, required=False),
    )


def _checked(events: Iterable[Event]) -> list[Event]:
    """Time order, no instance created twice while alive, a bound on size."""
    out: list[Event] = []
    alive: set[str] = set()
    last = 0.0
    for line, event in enumerate(events, start=2):
        if event.time < last:
            raise WorkloadError(f"line {line}: time {event.time} is before {last} (not sorted)")
        last = event.time
        if event.action == "create":
            if event.instance in alive:
                raise WorkloadError(f"line {line}: instance {event.instance!r} already exists")
            alive.add(event.instance)
        else:
            alive.discard(event.instance)
        out.append(event)
        if len(out) > MAX_EVENTS:
            raise WorkloadError(f"more than {MAX_EVENTS} events")
    return out


def read_trace(path: Path | str, flavors: Mapping[str, Shape] = FLAVORS) -> list[Event]:
    """A CSV (header first) or JSONL (name ends in .jsonl) trace file."""
    path = Path(path)
    try:
        with path.open(newline="") as stream:
            if path.suffix == ".jsonl":
                return _checked(_jsonl(stream, flavors))
            reader = csv.DictReader(stream)
            if not reader.fieldnames or not {"time", "action", "instance"} <= set(
                reader.fieldnames
            ):
                raise WorkloadError(f"{path}: line 1: the header must name time, action, instance")
            return _checked(event_from_record(row, reader.line_num, flavors) for row in reader)
    except OSError as exc:
        raise WorkloadError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise WorkloadError(f"{path}: unreadable ({exc})") from None


def _jsonl(stream: Iterable[str], flavors: Mapping[str, Shape]) -> Iterator[Event]:
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise WorkloadError(f"line {line}: not JSON ({exc})") from None
        if not isinstance(record, dict):
            raise WorkloadError(f"line {line}: not a JSON object")
        yield event_from_record(record, line, flavors)


AZURE_COLUMNS = (
    "vmid",
    "subscriptionid",
    "deploymentid",
    "vmcreated",
    "vmdeleted",
    "maxcpu",
    "avgcpu",
    "p95maxcpu",
    "vmcategory",
    "vmcorecountbucket",
    "vmmemorybucket",
)


def _bucket(value: str, field: str, line: int) -> int:
    """A bucket's amount: "8" is 8, an open one ">24" is 48."""
    open_bucket = value.startswith(">")
    amount = _int(value[1:] if open_bucket else value, field, line, 1)
    return amount * 2 if open_bucket else amount


def read_azure_vmtable(path: Path | str, disk_gb: int = 0) -> list[Event]:
    """The Azure public dataset's vmtable.csv, as published (no header)."""
    path = Path(path)
    creates: list[tuple[float, int, Event]] = []
    try:
        with path.open(newline="") as stream:
            for line, row in enumerate(csv.reader(stream), start=1):
                if not row:
                    continue
                if len(row) != len(AZURE_COLUMNS):
                    raise WorkloadError(
                        f"line {line}: {len(row)} columns, vmtable has {len(AZURE_COLUMNS)}"
                    )
                record = dict(zip(AZURE_COLUMNS, row, strict=True))
                try:
                    created = float(record["vmcreated"])
                    deleted = float(record["vmdeleted"])
                except ValueError:
                    raise WorkloadError(f"line {line}: vmcreated/vmdeleted not numbers") from None
                if not 0 <= created <= deleted <= MAX_TIME:
                    raise WorkloadError(
                        f"line {line}: vmcreated {created} and vmdeleted {deleted} out of order "
                        "or out of bounds"
                    )
                cores = _bucket(record["vmcorecountbucket"], "vmcorecountbucket", line)
                memory_gb = _bucket(record["vmmemorybucket"], "vmmemorybucket", line)
                vm = _text(record["vmid"], "vmid", line, required=True)
                assert vm is not None
                project = _text(record["subscriptionid"], "subscriptionid", line, required=True)
                shape = Shape(f"azure.{cores}c{memory_gb}g", cores, memory_gb * 1024, disk_gb)
                creates.append((created, line, Event(created, "create", vm, shape, project or "")))
                creates.append((deleted, line, Event(deleted, "delete", vm, None, project or "")))
                if len(creates) > MAX_EVENTS:
                    raise WorkloadError(f"more than {MAX_EVENTS} events")
    except OSError as exc:
        raise WorkloadError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise WorkloadError(f"{path}: unreadable ({exc})") from None
    # Creates before deletes at one instant, then file order.
    creates.sort(key=lambda c: (c[0], c[2].action == "delete", c[1]))
    return _checked(event for _t, _l, event in creates)


# --- the generator ---------------------------------------------------------------------

GENERATOR_HELP = """\
gen:poisson[,instances=N][,rate=R][,lifetime=L][,mix=F:W/F:W...][,zones=Z/Z][,projects=N]
  instances  creates to make (1..2,000,000; default 1000)
  rate       mean arrivals per hour, Poisson (default 60)
  lifetime   exp:MEAN_HOURS | lognormal:MEDIAN_HOURS:SIGMA | fixed:HOURS | forever
             (default exp:24); a delete is made when a lifetime ends before the
             last arrival
  mix        flavors and weights from m1.tiny..m1.xlarge (default m1.small:2/
             m1.medium:2/m1.large:1)
  zones      zones asked for, round robin with no zone (default none)
  projects   projects the instances are spread over (default 1)
Seeded by --seed (numpy Generator)."""


def parse_generator(text: str) -> dict[str, str]:
    """The parameters of `gen:poisson,key=value,...`."""
    name, _sep, rest = text.partition(",")
    if name != "gen:poisson":
        raise WorkloadError(f"unknown generator {name!r}; known: gen:poisson")
    params: dict[str, str] = {}
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or key not in ("instances", "rate", "lifetime", "mix", "zones", "projects"):
            raise WorkloadError(f"generator parameter {pair!r} is not one of:\n{GENERATOR_HELP}")
        params[key] = value
    return params


def generate(text: str, seed: int) -> list[Event]:
    params = parse_generator(text)
    try:
        instances = int(params.get("instances", "1000"))
        rate = float(params.get("rate", "60"))
        projects = int(params.get("projects", "1"))
    except ValueError as exc:
        raise WorkloadError(f"generator: {exc}") from None
    if not 1 <= instances <= 2_000_000 or not 0 < rate <= 1e7 or not 1 <= projects <= 100_000:
        raise WorkloadError("generator: instances 1..2,000,000, rate 0..1e7, projects 1..100,000")
    mix: list[tuple[Shape, float]] = []
    for part in params.get("mix", "m1.small:2/m1.medium:2/m1.large:1").split("/"):
        name, _sep, weight = part.partition(":")
        if name not in FLAVORS:
            raise WorkloadError(f"generator mix: unknown flavor {name!r}")
        try:
            w = float(weight or "1")
        except ValueError:
            raise WorkloadError(f"generator mix: weight {weight!r} is not a number") from None
        if not 0 < w <= 1e6:
            raise WorkloadError(f"generator mix: weight {w} not in (0, 1e6]")
        mix.append((FLAVORS[name], w))
    zones = [z for z in params.get("zones", "").split("/") if z]
    rng = np.random.Generator(np.random.PCG64(seed))
    arrivals = np.cumsum(rng.exponential(3600.0 / rate, instances))
    weights = np.array([w for _s, w in mix])
    picks = rng.choice(len(mix), size=instances, p=weights / weights.sum())
    lifetimes = _lifetimes(params.get("lifetime", "exp:24"), rng, instances)
    end = float(arrivals[-1])
    events: list[tuple[float, int, Event]] = []
    for i in range(instances):
        zone = zones[i % (len(zones) + 1)] if zones and i % (len(zones) + 1) < len(zones) else None
        project = f"project-{i % projects}"
        name = f"gen-{i:07d}"
        at = float(arrivals[i])
        events.append((at, 0, Event(at, "create", name, mix[picks[i]][0], project, None, zone)))
        gone = at + float(lifetimes[i])
        if gone <= end:
            events.append((gone, 1, Event(gone, "delete", name, None, project)))
    events.sort(key=lambda e: (e[0], e[1]))
    return _checked(e for _t, _k, e in events)


def _lifetimes(spec: str, rng: np.random.Generator, n: int) -> np.ndarray:
    kind, *args = spec.split(":")
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise WorkloadError(f"generator lifetime {spec!r}: not numbers") from None
    if any(not 0 < v <= 1e6 for v in values):
        raise WorkloadError(f"generator lifetime {spec!r}: values in (0, 1e6]")
    if kind == "exp" and len(values) == 1:
        return rng.exponential(values[0] * 3600.0, n)
    if kind == "lognormal" and len(values) == 2:
        return rng.lognormal(np.log(values[0] * 3600.0), values[1], n)
    if kind == "fixed" and len(values) == 1:
        return np.full(n, values[0] * 3600.0)
    if kind == "forever" and not values:
        return np.full(n, np.inf)
    raise WorkloadError(f"generator lifetime {spec!r} is not one of:\n{GENERATOR_HELP}")


def load_workload(source: str, seed: int) -> list[Event]:
    """A generator (`gen:...`), an Azure vmtable (`azure:PATH`), or a trace file."""
    if source.startswith("gen:"):
        return generate(source, seed)
    if source.startswith("azure:"):
        return read_azure_vmtable(source.removeprefix("azure:"))
    return read_trace(source)
