"""Run the upstream Placement gabbi suite against corral and hold the line.

Prints the runner's report, then compares each file's pass count with
`baseline.json` (the counts that have landed). Fewer passes than the baseline
in any file is a failure; more is reported so the baseline can be raised.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runner", required=True, help="path to shared/conformance/run")
    parser.add_argument("--port", type=int, default=18778)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--update-baseline", action="store_true")
    parser.add_argument("-k", action="append", default=[], help="only files matching GLOB")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            args.runner,
            f"http://127.0.0.1:{args.port}",
            "-j",
            str(args.jobs),
            "-v",
            "--json",
            str(report),
            "--server-cmd",
            f"{HERE / 'serve.sh'} {{port}} {{profile}}",
        ]
        for glob in args.k:
            cmd += ["-k", glob]
        proc = subprocess.run(cmd, check=False)
        if proc.returncode != 0:
            print(f"conformance runner failed with exit status {proc.returncode}")
            return proc.returncode
        counts = per_file_passes(json.loads(report.read_text()))

    baseline: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    if args.update_baseline:
        merged = {**baseline, **counts} if args.k else counts
        BASELINE.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
        print(f"baseline updated: {sum(merged.values())} passing tests")
        return 0
    regressions = [
        f"{name}: {counts.get(name, 0)} passed, baseline {want}"
        for name, want in sorted(baseline.items())
        if (not args.k or name in counts) and counts.get(name, 0) < want
    ]
    gains = sum(max(0, n - baseline.get(name, 0)) for name, n in counts.items())
    if gains:
        print(f"{gains} more tests pass than the baseline; raise it with --update-baseline")
    if regressions:
        print("conformance regressions against baseline.json:")
        for line in regressions:
            print(f"  {line}")
        return 1
    return 0


def per_file_passes(report: dict[str, Any]) -> dict[str, int]:
    """Passing tests per gabbi file from the runner's --json report."""
    return {rec["file"]: int(rec.get("passed", 0)) for rec in report["files"]}


if __name__ == "__main__":
    sys.exit(main())
