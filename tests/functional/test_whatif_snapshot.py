"""`corral snapshot` against a served corral (uvicorn, as `corral serve` runs
it), and the throw-away cloud made from what it wrote."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from corral import cli
from corral.conf import new_conf
from corral.scheduler.spec import Flavor, RequestSpec
from corral.store import tables
from corral.whatif import snapshot
from corral.whatif.cloud import ThrowawayCloud
from tests.functional.served_app import served


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    conf = new_conf()
    conf([], project="corral", default_config_files=[])
    with served(conf, database_url) as port:
        yield f"http://127.0.0.1:{port}"


def test_snapshot_of_the_demo_cloud(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--url", url, "--hosts", "6", "--instances", "12"]) == 0
    capsys.readouterr()
    out = tmp_path / "cloud.json.gz"
    assert cli.main(["snapshot", "--url", url, "-o", str(out)]) == 0
    assert "6 hosts, 6 providers, 3 aggregates, 1 server groups" in capsys.readouterr().out
    taken = snapshot.load(out)
    assert sorted(h["name"] for h in taken["hosts"]) == [f"demo-0{i}" for i in range(1, 7)]
    assert all(h["up"] for h in taken["hosts"])
    zones = {a["name"]: a["metadata"].get("availability_zone") for a in taken["aggregates"]}
    assert zones == {"demo-az1": "az1", "demo-az2": "az2", "demo-tenant-gold": None}
    placed = {i["uuid"] for i in taken["instances"]}
    assert placed and placed == {c["consumer_uuid"] for c in taken["allocations"]}
    [group] = taken["server_groups"]
    assert group["policy"] == "anti-affinity" and set(group["members"]) <= placed

    # The throw-away cloud holds the same usage: what the demo placed is still there.
    with ThrowawayCloud(taken, seed=1) as cloud:
        with cloud.db.read() as conn:
            consumers = conn.execute(
                select(func.count(func.distinct(tables.allocations.c.consumer_id)))
            ).scalar_one()
            instances = conn.execute(
                select(func.count()).select_from(tables.instances)
            ).scalar_one()
        assert consumers == len(taken["allocations"]) and instances == len(placed)
        flavor = Flavor(vcpus=1, memory_mb=512, root_gb=1, name="t", flavorid="t")
        instance = str(uuid.uuid4())
        spec = RequestSpec(
            flavor=flavor,
            project_id="demo",
            user_id="demo",
            instance_uuid=instance,
        )
        [[chosen]] = cloud.create(spec, [instance])
        assert chosen.service_host.startswith("demo-")
        cloud.delete(instance)


def test_snapshot_refuses_an_unwritable_file(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "cloud.json"
    assert cli.main(["snapshot", "--url", url, "-o", str(target)]) == 2
    assert "corral: error:" in capsys.readouterr().err
