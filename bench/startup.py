"""Start-up: how soon a fresh worker process makes its first decision.

Builds the cloud of bench/schedule.py (N compute nodes with inventories,
usage, traits, aggregates, a compute host row and a nova-compute service
each) in a SQLite database, then starts a fresh process and times, from
the moment it starts, each step an API or RPC worker takes before its first
select_destinations returns:

    imports       corral's modules (the scheduler, the index, the store)
    index         the Placement index loaded (PlacementIndex.load)
    host cache    the scheduler's host cache loaded and the Scheduler built
    first         the first decision (search, filters, weighers, claim committed)

Each size is started --runs times; the table shows the median of each step.

    .venv/bin/python bench/startup.py [--hosts 10000,100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

STEPS = ("imports", "index", "host cache", "first")


def child(db_path: str) -> dict[str, float]:
    """Runs in the fresh process: each step's seconds since the process began."""
    started = time.perf_counter()
    marks: dict[str, float] = {}
    import uuid

    from corral.conf import new_conf
    from corral.placement.index import PlacementIndex
    from corral.scheduler.engine import Scheduler
    from corral.scheduler.spec import Flavor, RequestSpec
    from corral.store.database import Database

    marks["imports"] = time.perf_counter() - started
    db = Database(f"sqlite:///{db_path}")
    index = PlacementIndex(db)
    index.load()
    marks["index"] = time.perf_counter() - started
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    conf.set_override("service_down_time", 3600)
    scheduler = Scheduler.from_conf(conf, db, index)
    marks["host cache"] = time.perf_counter() - started
    instance = str(uuid.uuid4())
    spec = RequestSpec(
        flavor=Flavor(vcpus=2, memory_mb=4096, root_gb=20, name="bench", flavorid="1"),
        project_id="bench",
        user_id="bench",
        instance_uuid=instance,
    )
    scheduler.select_destinations(spec, [instance], return_alternates=True)
    marks["first"] = time.perf_counter() - started
    return marks


def build(db_path: Path, hosts: int, seed: int) -> None:
    from corral.store import migrate
    from corral.store.database import Database
    from schedule import bench_cloud, populate_corral

    db = Database(f"sqlite:///{db_path}")
    migrate.upgrade(db)
    populate_corral(db, bench_cloud(hosts, seed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    sizes = [int(n) for n in args.hosts.split(",")]
    print(f"{'hosts':>8} " + " ".join(f"{s:>11}" for s in STEPS) + "   (seconds since start)")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="corral-startup-") as tmp:
            db_path = Path(tmp) / "corral.db"
            build(db_path, n, args.seed)
            runs = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(db_path)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        medians = {s: statistics.median(r[s] for r in runs) for s in STEPS}
        print(f"{n:>8,} " + " ".join(f"{medians[s]:>11.2f}" for s in STEPS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
