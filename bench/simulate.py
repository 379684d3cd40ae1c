"""The replay's speed: a generated workload through one throw-away cloud.

Prints a table (hosts, requests, load seconds, replay seconds, requests/s)
where a request is one create (select_destinations, claim committed) or one
delete (allocations and record removed), as corral.whatif.simulate replays them.

    .venv/bin/python bench/simulate.py [--hosts 1000] [--instances 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time

from corral.whatif.cloud import ThrowawayCloud, spec_snapshot
from corral.whatif.simulate import replay
from corral.whatif.workload import generate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.hosts <= 200_000 or not 1 <= args.instances <= 2_000_000:
        parser.error("--hosts 1..200,000, --instances 1..2,000,000")
    spec = {
        "zones": ["az1", "az2"],
        "host_classes": [
            {"name": "h", "count": args.hosts, "vcpus": 64, "memory_mb": 262_144, "disk_gb": 2000}
        ],
    }
    events = generate(f"gen:poisson,instances={args.instances},rate=3600,lifetime=exp:0.5", 1)
    started = time.perf_counter()
    with ThrowawayCloud(spec_snapshot(spec), seed=args.seed) as cloud:
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        result = replay(cloud, events, "default")
        replayed = time.perf_counter() - started
    print("| hosts | requests | load s | replay s | requests/s | placed | refused |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.hosts:,} | {len(events):,} | {loaded:.1f} | {replayed:.1f} | "
        f"{len(events) / replayed:,.0f} | {result.placed:,} | {sum(result.refused.values()):,} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
