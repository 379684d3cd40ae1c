"""`make audit`: a CycloneDX SBOM of the locked dependencies, and a vulnerability audit.

Writes build/sbom.json (cyclonedx-py, from requirements/lock.txt; needs no
network), then runs pip-audit over the same hash-locked file without
installing anything (--disable-pip). Exit status:

  0  every locked dependency was audited and none has a known vulnerability
  1  a known vulnerability (each is printed with its fix versions)
  2  the tools themselves failed
  3  the audit could not be done: the vulnerability service was unreachable,
     or it answered for none or only some of the dependencies

pip-audit itself reports "No known vulnerabilities found" even when it could
audit nothing (every package skipped as "not found"), so this script counts
what was really audited and says plainly when that is not everything. With
CORRAL_AUDIT_ALLOW_UNREACHABLE=1 (CI sets it) case 3 exits 0 after printing
the banner, so a network outage does not fail CI but is never silent; a
vulnerability always fails. CORRAL_AUDIT_SERVICE picks pip-audit's service:
pypi (default, the PyPI JSON API) or osv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
SBOM = ROOT / "build" / "sbom.json"
BIN = Path(sys.executable).parent
SERVICES = {"pypi": "the PyPI JSON API (https://pypi.org/pypi)", "osv": "OSV (https://api.osv.dev)"}


def banner(lines: list[str]) -> None:
    rule = "!" * 78
    print(rule)
    for line in lines:
        print(f"!! {line}")
    print(rule, flush=True)


def write_sbom() -> bool:
    SBOM.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(BIN / "cyclonedx-py"),
            "requirements",
            str(LOCK),
            "--pyproject",
            str(ROOT / "pyproject.toml"),
            "--of",
            "JSON",
            "--output-reproducible",
            "-o",
            str(SBOM),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(f"audit: writing the SBOM failed:\n{result.stderr}", file=sys.stderr)
        return False
    count = len(json.loads(SBOM.read_text()).get("components", []))
    print(f"audit: CycloneDX SBOM of {count} components written to {SBOM.relative_to(ROOT)}")
    return True


def run_pip_audit(service: str) -> tuple[int, dict[str, Any] | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        result = subprocess.run(
            [
                str(BIN / "pip-audit"),
                "--requirement",
                str(LOCK),
                "--require-hashes",
                "--disable-pip",
                "--vulnerability-service",
                service,
                "--format",
                "json",
                "--progress-spinner",
                "off",
                "--output",
                str(out),
            ],
            capture_output=True,
            text=True,
        )
        data = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    return result.returncode, data, result.stderr


def main() -> int:
    service = os.environ.get("CORRAL_AUDIT_SERVICE", "pypi")
    if service not in SERVICES:
        print(f"audit: CORRAL_AUDIT_SERVICE must be one of {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    allow_unreachable = os.environ.get("CORRAL_AUDIT_ALLOW_UNREACHABLE") == "1"
    if not write_sbom():
        return 2
    code, data, stderr = run_pip_audit(service)
    where = SERVICES[service]
    if data is None:
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}"
        return incomplete(where, f"pip-audit produced no result ({reason})", allow_unreachable)
    deps = data.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    audited = len(deps) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            print(f"VULNERABLE: {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    if vulnerable:
        print(f"audit: {len(vulnerable)} locked dependencies have known vulnerabilities")
        if skipped:
            print(f"audit: and {len(skipped)} of {len(deps)} could not be audited")
        return 1
    if skipped:
        first = skipped[0]["skip_reason"]
        return incomplete(
            where,
            f"only {audited} of {len(deps)} locked dependencies could be audited "
            f"(first reason: {first})",
            allow_unreachable,
        )
    print(
        f"audit: all {len(deps)} locked dependencies audited against {where}: "
        "no known vulnerabilities"
    )
    return 0


def incomplete(where: str, why: str, allow_unreachable: bool) -> int:
    banner(
        [
            "DEPENDENCY AUDIT NOT DONE: the vulnerability service could not be used.",
            f"Service: {where}.",
            f"What happened: {why}.",
            "The SBOM was written; no vulnerability check happened for the unaudited packages.",
            "Run `make audit` where the service is reachable (or set CORRAL_AUDIT_SERVICE=osv).",
        ]
    )
    if allow_unreachable:
        print("audit: CORRAL_AUDIT_ALLOW_UNREACHABLE=1, so this does not fail the build")
        return 0
    return 3


if __name__ == "__main__":
    sys.exit(main())
