"""`corral demo`, `corral schedule` and `corral explain` against a served corral
(uvicorn, as `corral serve` runs it): the CLI's client and the HTTP API agree."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from corral import cli
from corral.conf import new_conf
from tests.functional.served_app import served


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    with served(conf, database_url) as port:
        yield f"http://127.0.0.1:{port}"


def test_demo_then_schedule_and_explain(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--url", url, "--hosts", "4", "--instances", "10"]) == 0
    out = capsys.readouterr().out
    assert "registering hosts [" in out and "4/4" in out
    # Four small hosts cannot take every request: some may find no host.
    counts = re.search(r"scheduling \[[#.]+\] 10/10 \((\d+) placed, (\d+) no valid host\)", out)
    assert counts is not None, out
    assert int(counts[1]) + int(counts[2]) == 10
    assert "anti-affinity group" in out
    # The explanation of the flavor that fits nowhere ends the demo.
    assert out.rstrip().splitlines()[-1].startswith("0/4 hosts available: ")
    # The decisions table: demo hosts in the two zones, or no host.
    rows = out.split("instances per host:")[0].strip().splitlines()[-10:]
    placed = [row for row in rows if "NO VALID HOST" not in row]
    assert len(placed) == int(counts[1])
    assert all(" demo-0" in row and row.split()[-1] in ("az1", "az2") for row in placed)
    # The anti-affinity group's members are on different hosts.
    in_group = [row.split()[-2] for row in placed if " group " in row]
    assert in_group and len(set(in_group)) == len(in_group)

    # A second run refuses: the service holds hosts now.
    assert cli.main(["demo", "--url", url, "--hosts", "4", "--instances", "2"]) == 2
    assert "already holds compute hosts" in capsys.readouterr().err
    # --force adds to it again, reusing providers and aggregates by name.
    argv = ["demo", "--url", url, "--hosts", "4", "--instances", "2", "--force"]
    assert cli.main(argv) == 0
    capsys.readouterr()

    assert cli.main(["schedule", "--url", url, "--vcpus", "1", "--num", "2", "--az", "az2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["instance", "host", "node", "az"]
    assert [line.split()[3] for line in lines[2:]] == ["az2", "az2"]

    assert cli.main(["schedule", "--url", url, "--vcpus", "1000"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("No valid host: No valid host was found. 0/4 hosts available")

    assert cli.main(["explain", "--url", url, "--memory-mb", "1024"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["stage", "in", "out"]
    assert re.match(r"[1-4]/4 hosts available", out.rstrip().splitlines()[-1])
    assert cli.main(["explain", "--url", url, "--az", "nowhere"]) == 2
    assert "availability zone nowhere is not available" in capsys.readouterr().err
