"""The boot storm an operator feels: N servers asked of nova-api at once.

The same small real Nova 34 cloud as tests/e2e (nova-api, nova-conductor,
COMPUTES nova-compute processes with Nova's fake driver, MariaDB, RabbitMQ;
tests/e2e/cloud.py builds it), run twice in one go:

- **corral**: corral as Placement and scheduler;
- **upstream**: nova-scheduler 34.0.0 and openstack-placement 16.0.0 (its
  database on MariaDB), each one process, as the e2e adoption scenario runs
  them.

For each N, the servers are asked for in multi-create requests of --batch
servers, sent back to back; the clock starts at the first request and
stops when every server is ACTIVE (or ERROR). "scheduled" is the time until
every server has its host (none left in task_state `scheduling`), which is
the scheduler's and Placement's share of the storm, as seen from the API.
After each N every server is deleted and the cloud's usage returns to zero
before the next. Nova's fake driver spawns in no time, so what is left is
Nova's own API, conductor and compute work plus the scheduling.

    .venv/bin/python bench/nova_cloud.py                    # N = 100 and 300
    .venv/bin/python bench/nova_cloud.py --servers 50 --stacks corral

It needs what `make e2e` needs: MariaDB on 127.0.0.1:3306, RabbitMQ with
rabbitmqctl, the Nova 34 virtualenv and, for the upstream stack, the
Placement 16 virtualenv (both built from PyPI when absent).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.candidates import upstream_venv  # noqa: E402
from tests.conftest import NOVA_VENV, with_db_drivers  # noqa: E402
from tests.e2e.cloud import NovaCloud, Operator, wait_for  # noqa: E402
from tests.e2e.standins import IMAGE_ID  # noqa: E402

TIMEOUT_S = 1800


def storm(
    cloud: NovaCloud, op: Operator, flavor: dict[str, Any], n: int, batch: int
) -> dict[str, float]:
    prefix = f"storm{n}-"
    started = time.monotonic()
    sent = 0
    while sent < n:
        count = min(batch, n - sent)
        op.call(
            "compute.create_server",
            name=f"{prefix}{sent}",
            flavor_id=flavor["id"],
            image_id=IMAGE_ID,
            networks="none",
            min_count=count,
            max_count=count,
        )
        sent += count
    requested = time.monotonic() - started
    scheduled_at: float | None = None
    while True:
        found = [
            s
            for s in op.call("compute.servers", details=True, all_projects=True)
            if str(s["name"]).startswith(prefix)
        ]
        now = time.monotonic() - started
        if (
            scheduled_at is None
            and len(found) == n
            and all(
                s["task_state"] != "scheduling" and (s["compute_host"] or s["status"] == "ERROR")
                for s in found
            )
        ):
            scheduled_at = now
        if len(found) == n and all(s["status"] in ("ACTIVE", "ERROR") for s in found):
            active_at = now
            errors = sum(1 for s in found if s["status"] == "ERROR")
            break
        if now > TIMEOUT_S:
            raise SystemExit(f"{n} servers not ACTIVE after {TIMEOUT_S} s")
        time.sleep(0.5)
    for server in found:
        op.call("compute.delete_server", server["id"])
    wait_for(
        "every server deleted",
        lambda: not [s for s in op.call("compute.servers", details=True, all_projects=True)],
        TIMEOUT_S,
        2,
    )
    wait_for(
        "usage back to zero",
        lambda: all(not any(u.values()) for u in cloud.usages().values()),
        300,
        1,
    )
    return {
        "requested": requested,
        "scheduled": scheduled_at if scheduled_at is not None else active_at,
        "active": active_at,
        "errors": float(errors),
    }


def run_stack(
    stack: str, sizes: list[int], args: argparse.Namespace
) -> dict[int, dict[str, float]]:
    nova_python = with_db_drivers(NOVA_VENV / "bin" / "python", "the Nova 34 virtualenv")
    placement_python = None
    if stack == "upstream":
        placement_python = with_db_drivers(upstream_venv() / "bin" / "python", "Placement 16")
    workdir = Path(tempfile.mkdtemp(prefix=f"corral-bench-nova-{stack}-"))
    cloud = NovaCloud(
        workdir,
        nova_python,
        args.computes,
        stack=stack,
        placement_python=placement_python,
        compute_driver="fake.FakeDriver",
        debug=False,
    )
    results: dict[int, dict[str, float]] = {}
    try:
        print(f"{stack}: starting the cloud in {workdir} ...", flush=True)
        cloud.start()
        op = cloud.operator()
        flavor = op.call("compute.create_flavor", name="storm", ram=64, vcpus=1, disk=1)
        for n in sizes:
            results[n] = storm(cloud, op, flavor, n, args.batch)
            r = results[n]
            print(
                f"{stack}: N={n} scheduled {r['scheduled']:.1f} s, active {r['active']:.1f} s, "
                f"errors {int(r['errors'])}",
                flush=True,
            )
        cloud.check_alive()
    finally:
        cloud.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="100,300", help="N values, comma-separated")
    parser.add_argument("--computes", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10, help="servers per create request")
    parser.add_argument("--stacks", default="corral,upstream")
    parser.add_argument("--keep", action="store_true", help="keep each cloud's logs")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so each cloud's processes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(n) for n in args.servers.split(",")]
    stacks = args.stacks.split(",")
    table = {stack: run_stack(stack, sizes, args) for stack in stacks}
    print()
    print(f"boot storm, {args.computes} computes (fake driver), requests of {args.batch} servers")
    header = f"{'N':>5} {'stack':<9} {'scheduled s':>12} {'all ACTIVE s':>13} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for n in sizes:
        for stack in stacks:
            r = table[stack][n]
            print(
                f"{n:>5} {stack:<9} {r['scheduled']:>12.1f} {r['active']:>13.1f} "
                f"{int(r['errors']):>7}"
            )
        if {"corral", "upstream"} <= set(stacks):
            c, u = table["corral"][n], table["upstream"][n]
            print(
                f"{n:>5} {'ratio':<9} {u['scheduled'] / c['scheduled']:>11.2f}x "
                f"{u['active'] / c['active']:>12.2f}x {'':>7}"
            )


if __name__ == "__main__":
    main()
