"""Memory of the candidate index at 100,000 providers.

Builds the benchmark cloud (bench/candidates.py: VCPU, MEMORY_MB and DISK_GB
inventory, traits on some, 10 aggregates, 0-80 % usage) in a SQLite database,
then, in a fresh process, measures the resident set size:

- after importing everything (the baseline a corral process pays anyway),
- after loading the index,
- after building and encoding every provider's summary, as searches that
  showed every provider would (the worst case for the summary cache, which
  is bounded at `SUMMARY_CACHE` entries).

    .venv/bin/python bench/index_memory.py [--providers 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from candidates import ROOT, existing_traits, make_cloud, write_rows


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(db_path: Path) -> dict[str, float]:
    """Runs in the child process: import, load, search everything."""
    import gc

    from corral.api.microversion import Version
    from corral.api.placement.allocation_candidates import render
    from corral.api.placement.query_params import parse_candidate_request
    from corral.placement.candidates import CandidateResult, search
    from corral.placement.index import PlacementIndex
    from corral.store.database import Database

    gc.collect()
    base = rss_mb()
    index = PlacementIndex(Database(f"sqlite:///{db_path}"))
    started = time.perf_counter()
    index.load()
    load_s = time.perf_counter() - started
    gc.collect()
    loaded = rss_mb()
    # Every provider's summary built and encoded, as if searches had shown
    # each one (in pages, so no giant response is held at once).
    started = time.perf_counter()
    with index.reading() as state:
        slots = state.live_slots().tolist()
        for lo in range(0, len(slots), 1000):
            page = CandidateResult(summaries=[state.summary(s) for s in slots[lo : lo + 1000]])
            render(page, 39)
    summarise_s = time.perf_counter() - started
    gc.collect()
    searched = rss_mb()
    request = parse_candidate_request([("resources", "VCPU:2"), ("limit", "1000")], Version(1, 39))
    started = time.perf_counter()
    for _ in range(10):
        render(search(index, request), 39)
    search_ms = (time.perf_counter() - started) * 100
    return {
        "providers": index.stats().providers,
        "baseline_mb": base,
        "loaded_mb": loaded,
        "after_full_search_mb": searched,
        "index_mb": loaded - base,
        "index_with_summaries_mb": searched - base,
        "array_mb": index.stats().array_bytes / 2**20,
        "load_s": load_s,
        "summarise_s": summarise_s,
        "search_ms": search_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--providers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child))))
        return 0
    with tempfile.TemporaryDirectory(prefix="corral-index-memory-") as tmp:
        db = Path(tmp) / "corral.db"
        subprocess.run(
            [str(ROOT / ".venv/bin/corral"), "--database", f"sqlite:///{db}", "db", "upgrade"],
            check=True,
            capture_output=True,
        )
        write_rows(db, make_cloud(args.providers, args.seed), existing_traits(db))
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(db)],
            check=True,
            capture_output=True,
            text=True,
        )
    numbers = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"providers:                          {numbers['providers']:,}")
    print(f"process RSS before the index:       {numbers['baseline_mb']:.0f} MB")
    print(f"process RSS with the index loaded:  {numbers['loaded_mb']:.0f} MB")
    print(f"... with every summary built:       {numbers['after_full_search_mb']:.0f} MB")
    print(f"index alone (RSS growth):           {numbers['index_mb']:.0f} MB")
    print(f"index with every summary cached:    {numbers['index_with_summaries_mb']:.0f} MB")
    print(f"of which numpy arrays:              {numbers['array_mb']:.1f} MB")
    print(f"load time:                          {numbers['load_s']:.2f} s")
    print(f"building every summary:             {numbers['summarise_s']:.2f} s")
    print(f"search + render, limit=1000:        {numbers['search_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
