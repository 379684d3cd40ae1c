"""`corral capacity` against a served corral: one column per shape, one row
per zone, the numbers GET /scheduler/v1/capacity answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from corral import cli
from corral.client import CorralClient
from corral.conf import new_conf
from tests.functional.served_app import served

SMALL = "VCPU:1,MEMORY_MB:512"
LARGE = "VCPU:4,MEMORY_MB:4096,DISK_GB:20"


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    with served(conf, database_url) as port:
        yield f"http://127.0.0.1:{port}"


def test_capacity_table_per_zone(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--url", url, "--hosts", "4", "--instances", "3"]) == 0
    capsys.readouterr()
    client = CorralClient(url, "admin")
    try:
        answers = [client.capacity([("resources", shape)]) for shape in (SMALL, LARGE)]
    finally:
        client.close()
    assert answers[0]["total"] > answers[1]["total"] >= 0

    assert cli.main(["capacity", "--url", url, "--resources", SMALL, "--resources", LARGE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"shape 1: {SMALL}"
    assert lines[1] == f"shape 2: {LARGE}"
    header = lines.index(next(line for line in lines if line.startswith("zone")))
    assert lines[header].split() == ["zone", "shape", "1", "shape", "2"]
    rows = {}
    for line in lines[header + 2 :]:
        if not line:
            break
        name, *counts = line.split()
        rows[name] = [int(c.replace(",", "")) for c in counts]
    zones = sorted(answers[0]["zones"])
    assert set(rows) == {*zones, "total"}
    for zone in zones:
        assert rows[zone] == [a["zones"][zone] for a in answers]
    assert rows["total"] == [a["total"] for a in answers]
    assert lines[-1].startswith("stranded (no shape fits): ")

    assert cli.main(["capacity", "--url", url, "--resources", SMALL, "--by", "host"]) == 0
    out = capsys.readouterr().out
    assert all(host in out for host in answers[0]["hosts"])

    assert cli.main(["capacity", "--url", url, "--resources", "VCPU:0"]) == 2
    assert "HTTP 400" in capsys.readouterr().err
    assert cli.main(["capacity", "--url", url, "--token", "bob:p1", "--resources", SMALL]) == 2
    assert "HTTP 403" in capsys.readouterr().err
