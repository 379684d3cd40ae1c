"""GET /allocation_candidates: corral against upstream OpenStack Placement 16.0.0.

Builds the same cloud in both (N compute nodes with VCPU, MEMORY_MB and
DISK_GB inventory, traits on some, 10 aggregates, random 0-80 % usage),
writing the rows straight into each one's SQLite database (building 50,000
providers through upstream's HTTP API would take hours), starts both servers
(one worker process each, noauth2), and times the same queries over real HTTP:

    plain      resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20&limit=1000
    required   ... &required=HW_CPU_X86_AVX2
    member_of  ... &member_of=<aggregate 0>
    granular   resources1=VCPU:2,MEMORY_MB:4096&resources2=DISK_GB:20&group_policy=none&limit=1000

It prints p50/p90 per case and size and the upstream/corral ratio. At the
smallest size it also checks, without `limit`, that both return the same
candidates.

Upstream runs from a virtualenv with openstack-placement==16.0.0: the
conformance one (~/.cache/corral-conformance-venv) when present, else one
this script creates (~/.cache/corral-bench-upstream-venv, from PyPI).

    .venv/bin/python bench/candidates.py [--sizes 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_VERSION = "16.0.0"
CONFORMANCE_VENV = Path(
    os.environ.get("CONFORMANCE_VENV", Path.home() / ".cache/corral-conformance-venv")
)
BENCH_VENV = Path.home() / ".cache/corral-bench-upstream-venv"
MICROVERSION = "placement 1.39"
VCPU, MEMORY_MB, DISK_GB = 0, 1, 2  # standard class ids, the same in both
NOW = "2024-01-01 00:00:00"


# --- the cloud -----------------------------------------------------------------------


@dataclass
class Host:
    uuid: str
    name: str
    totals: tuple[int, int, int]  # VCPU, MEMORY_MB, DISK_GB
    used: tuple[int, int, int]
    traits: list[str]
    aggregate: int


@dataclass
class CloudSpec:
    hosts: list[Host]
    aggregates: list[str]
    traits: list[str] = field(
        default_factory=lambda: ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "CUSTOM_GOLD"]
    )


RATIOS = (4.0, 1.0, 1.0)  # allocation ratio per class
RESERVED = (0, 512, 0)


def make_cloud(n: int, seed: int) -> CloudSpec:
    rng = random.Random(seed)
    aggregates = [str(uuidlib.UUID(int=rng.getrandbits(128), version=4)) for _ in range(10)]
    hosts = []
    for i in range(n):
        totals = (rng.choice([32, 48, 64]), rng.choice([131072, 262144]), rng.choice([1000, 2000]))
        fraction = rng.uniform(0.0, 0.8)
        used = tuple(
            int((t - r) * ratio * fraction)
            for t, r, ratio in zip(totals, RESERVED, RATIOS, strict=True)
        )
        traits = []
        if rng.random() < 0.5:
            traits.append("HW_CPU_X86_AVX2")
        if rng.random() < 0.3:
            traits.append("HW_CPU_X86_SSE42")
        if rng.random() < 0.1:
            traits.append("CUSTOM_GOLD")
        hosts.append(
            Host(
                uuid=str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
                name=f"compute-{i:06d}",
                totals=totals,
                used=used,  # type: ignore[arg-type]
                traits=traits,
                aggregate=i % 10,
            )
        )
    return CloudSpec(hosts=hosts, aggregates=aggregates)


def write_rows(db_path: Path, cloud: CloudSpec, trait_ids: dict[str, int]) -> None:
    """Insert the cloud into a Placement-layout SQLite database (corral's tables
    have upstream's layout, so one writer serves both)."""
    conn = sqlite3.connect(db_path)
    try:
        cur = conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        for name in cloud.traits:
            if name not in trait_ids:
                cur.execute("INSERT INTO traits (name, created_at) VALUES (?, ?)", (name, NOW))
                trait_ids[name] = int(cur.lastrowid or 0)
        cur.executemany(
            "INSERT INTO placement_aggregates (id, uuid, created_at) VALUES (?, ?, ?)",
            [(i + 1, u, NOW) for i, u in enumerate(cloud.aggregates)],
        )
        for table in ("projects", "users"):
            cur.execute(
                f"INSERT INTO {table} (id, external_id, created_at) VALUES (1, 'bench', ?)", (NOW,)
            )
        providers, inventories, consumers, allocations, traits, members = [], [], [], [], [], []
        for pid, host in enumerate(cloud.hosts, start=1):
            providers.append((pid, host.uuid, host.name, 1, pid, None, NOW))
            consumer = str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, host.uuid))
            if any(host.used):
                consumers.append((pid, consumer, 1, 1, 1, NOW))
            for rc, (total, used) in enumerate(zip(host.totals, host.used, strict=True)):
                inventories.append((pid, rc, total, RESERVED[rc], 1, total, 1, RATIOS[rc], NOW))
                if used:
                    allocations.append((pid, consumer, rc, used, NOW))
            traits.extend((trait_ids[t], pid, NOW) for t in host.traits)
            members.append((pid, host.aggregate + 1, NOW))
        cur.executemany(
            "INSERT INTO resource_providers (id, uuid, name, generation, root_provider_id, "
            "parent_provider_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            providers,
        )
        cur.executemany(
            "INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, "
            "min_unit, max_unit, step_size, allocation_ratio, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inventories,
        )
        cur.executemany(
            "INSERT INTO consumers (id, uuid, project_id, user_id, generation, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            consumers,
        )
        cur.executemany(
            "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            allocations,
        )
        cur.executemany(
            "INSERT INTO resource_provider_traits (trait_id, resource_provider_id, created_at) "
            "VALUES (?, ?, ?)",
            traits,
        )
        cur.executemany(
            "INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id, "
            "created_at) VALUES (?, ?, ?)",
            members,
        )
        conn.commit()
    finally:
        conn.close()


def existing_traits(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        return {name: tid for tid, name in conn.execute("SELECT id, name FROM traits")}
    finally:
        conn.close()


# --- the two servers ---------------------------------------------------------------


def upstream_venv() -> Path:
    """A virtualenv with openstack-placement 16.0.0, created when none is found."""
    for venv in (CONFORMANCE_VENV, BENCH_VENV):
        if _has_placement(venv):
            return venv
    print(f"creating {BENCH_VENV} with openstack-placement=={UPSTREAM_VERSION} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run(
        [
            str(BENCH_VENV / "bin/pip"),
            "install",
            "--quiet",
            f"openstack-placement=={UPSTREAM_VERSION}",
        ],
        check=True,
    )
    return BENCH_VENV


def _has_placement(venv: Path) -> bool:
    py = venv / "bin/python"
    if not py.exists():
        return False
    probe = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('openstack-placement'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == UPSTREAM_VERSION


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_UPSTREAM_SERVER = """
import sys
from wsgiref import simple_server
from placement.wsgi import api

class Quiet(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass

server = simple_server.make_server("127.0.0.1", int(sys.argv[1]), api.application,
                                   handler_class=Quiet)
server.serve_forever()
"""


def build_upstream_db(venv: Path, state: Path) -> Path:
    db = state / "placement.sqlite"
    conf = state / "placement.conf"
    conf.write_text(
        "[DEFAULT]\ndebug = False\n[api]\nauth_strategy = noauth2\n"
        f"[placement_database]\nconnection = sqlite:///{db}\nsync_on_startup = False\n"
        f"[oslo_policy]\npolicy_file = {state / 'policy.yaml'}\n"
    )
    subprocess.run(
        [str(venv / "bin/placement-manage"), "--config-file", str(conf), "db", "sync"],
        check=True,
        capture_output=True,
    )
    return db


@contextlib.contextmanager
def serve(cmd: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                status, _ = get(port, "/", None)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not come up")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def get(port: int, path: str, version: str | None = MICROVERSION) -> tuple[int, bytes]:
    """One request on a fresh connection (upstream's wsgiref server speaks HTTP/1.0)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        headers = {"x-auth-token": "admin", "accept": "application/json"}
        if version:
            headers["openstack-api-version"] = version
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# --- the measurement ----------------------------------------------------------------


def cases(cloud: CloudSpec, limit: int | None = 1000) -> dict[str, str]:
    lim = f"&limit={limit}" if limit else ""
    base = "resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20"
    return {
        "plain": f"/allocation_candidates?{base}{lim}",
        "required": f"/allocation_candidates?{base}&required=HW_CPU_X86_AVX2{lim}",
        "member_of": f"/allocation_candidates?{base}&member_of={cloud.aggregates[0]}{lim}",
        "granular": "/allocation_candidates?resources1=VCPU:2,MEMORY_MB:4096"
        f"&resources2=DISK_GB:20&group_policy=none{lim}",
    }


@dataclass
class Timing:
    samples: list[float]
    candidates: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(port: int, path: str, *, samples: int, budget: float, warmup: int = 1) -> Timing:
    count = 0
    for _ in range(warmup):
        status, body = get(port, path)
        assert status == 200, body[:500]
        count = len(json.loads(body)["allocation_requests"])
    out: list[float] = []
    started = time.monotonic()
    while len(out) < samples:
        t0 = time.perf_counter()
        status, body = get(port, path)
        out.append(time.perf_counter() - t0)
        assert status == 200
        if len(out) >= 3 and time.monotonic() - started > budget:
            break
    return Timing(out, count)


def answers(port: int, path: str) -> set[frozenset[tuple[str, str, int]]]:
    status, body = get(port, path)
    assert status == 200, body[:500]
    return {
        frozenset(
            (rp, rc, amount)
            for rp, alloc in ar["allocations"].items()
            for rc, amount in alloc["resources"].items()
        )
        for ar in json.loads(body)["allocation_requests"]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--corral-samples", type=int, default=200)
    parser.add_argument("--upstream-samples", type=int, default=20)
    parser.add_argument(
        "--upstream-budget", type=float, default=30.0, help="seconds per upstream case"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--check-up-to", type=int, default=1000, help="compare answers up to N")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    venv = upstream_venv()
    corral_bin = ROOT / ".venv/bin/corral"
    rows: list[tuple[int, str, Timing, Timing]] = []
    for n in sizes:
        cloud = make_cloud(n, args.seed)
        with tempfile.TemporaryDirectory(prefix="corral-bench-") as tmp:
            state = Path(tmp)
            t0 = time.monotonic()
            corral_db = state / "corral.db"
            subprocess.run(
                [str(corral_bin), "--database", f"sqlite:///{corral_db}", "db", "upgrade"],
                check=True,
                capture_output=True,
            )
            write_rows(corral_db, cloud, existing_traits(corral_db))
            up_db = build_upstream_db(venv, state)
            write_rows(up_db, cloud, existing_traits(up_db))
            print(f"N={n}: both databases built in {time.monotonic() - t0:.1f}s", flush=True)
            c_port, u_port = free_port(), free_port()
            corral_cmd = [
                str(corral_bin),
                "--database",
                f"sqlite:///{corral_db}",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(c_port),
                "--conformance-profile",
                "default",
                "--workers",
                "1",
            ]
            up_cmd = [str(venv / "bin/python"), "-c", _UPSTREAM_SERVER, str(u_port)]
            with (
                serve(corral_cmd, c_port),
                serve(up_cmd, u_port, {"OS_PLACEMENT_CONFIG_DIR": str(state)}),
            ):
                if n <= args.check_up_to:
                    for name, path in cases(cloud, limit=None).items():
                        same = answers(c_port, path) == answers(u_port, path)
                        print(f"  same candidates as upstream ({name}, no limit): {same}")
                        if not same:
                            return 1
                for name, path in cases(cloud).items():
                    c = measure(c_port, path, samples=args.corral_samples, budget=30, warmup=3)
                    u = measure(
                        u_port, path, samples=args.upstream_samples, budget=args.upstream_budget
                    )
                    rows.append((n, name, c, u))
                    print(
                        f"  {name:10s} corral p50 {c.pct(0.5):8.2f} ms   "
                        f"upstream p50 {u.pct(0.5):9.1f} ms   x{u.pct(0.5) / c.pct(0.5):.0f}",
                        flush=True,
                    )
    print()
    print(
        "| N | query | candidates | corral p50 ms | corral p90 ms | upstream p50 ms "
        "| upstream p90 ms | upstream/corral (p50) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, name, c, u in rows:
        print(
            f"| {n:,} | {name} | {c.candidates} | {c.pct(0.5):.2f} | {c.pct(0.9):.2f} | "
            f"{u.pct(0.5):.0f} | {u.pct(0.9):.0f} | {u.pct(0.5) / c.pct(0.5):.0f}x |"
        )
    print(
        f"\ncorral samples per case: up to {args.corral_samples}; upstream: up to "
        f"{args.upstream_samples} within {args.upstream_budget:.0f}s per case; "
        "each request on a new HTTP connection."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
