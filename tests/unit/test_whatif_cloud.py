"""corral.whatif.snapshot (validation, files) and corral.whatif.cloud
(a spec made a snapshot, the throw-away cloud's create and delete)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from corral.errors import BadRequest, NotFound
from corral.scheduler.spec import Flavor, NoValidHost, RequestSpec
from corral.store import tables
from corral.whatif import snapshot
from corral.whatif.cloud import ThrowawayCloud, default_conf, load_cloud, spec_snapshot
from corral.whatif.snapshot import SnapshotError

SPEC: dict[str, Any] = {
    "zones": ["az1", "az2"],
    "host_classes": [
        {"name": "big", "count": 4, "vcpus": 16, "memory_mb": 65536, "disk_gb": 500},
        {
            "name": "gpu",
            "count": 2,
            "vcpus": 8,
            "memory_mb": 32768,
            "disk_gb": 250,
            "traits": ["CUSTOM_GPU"],
            "zones": ["az2"],
        },
    ],
    "aggregates": [{"name": "gpus", "classes": ["gpu"], "metadata": {"gpu": "true"}}],
}
FLAVOR = Flavor(vcpus=2, memory_mb=4096, root_gb=20, name="m", flavorid="1")


def spec_of(instance_uuid: str, **extra: Any) -> RequestSpec:
    return RequestSpec(
        flavor=FLAVOR, project_id="p", user_id="u", instance_uuid=instance_uuid, **extra
    )


def test_spec_becomes_a_snapshot_with_zones_and_aggregates() -> None:
    snap = spec_snapshot(SPEC)
    assert [h["name"] for h in snap["hosts"]][:2] == ["big-0001", "big-0002"]
    assert len(snap["providers"]) == 6
    zones = {a["name"]: a for a in snap["aggregates"]}
    assert zones["zone-az1"]["hosts"] == ["big-0001", "big-0003"]
    assert zones["zone-az2"]["hosts"] == ["big-0002", "big-0004", "gpu-0001", "gpu-0002"]
    assert zones["gpus"]["metadata"] == {"gpu": "true"}
    assert snap["traits"] == ["CUSTOM_GPU"]
    # The same spec, the same cloud (uuids derive from names).
    assert spec_snapshot(SPEC)["providers"] == snap["providers"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["host_classes"][0].update(count=0), "host_classes/0/count"),
        (lambda s: s["host_classes"][0].update(vcpus="8"), "host_classes/0/vcpus"),
        (lambda s: s["aggregates"][0].update(classes=["nope"]), "unknown classes"),
        (lambda s: s.update(extra=1), "(top)"),
        (lambda s: s["host_classes"].append(dict(s["host_classes"][0])), "appears twice"),
    ],
)
def test_bad_spec_refused(change: Any, message: str) -> None:
    spec = copy.deepcopy(SPEC)
    change(spec)
    with pytest.raises(SnapshotError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec_snapshot(spec)


def test_snapshot_validation_checks_references_and_bounds() -> None:
    snap = spec_snapshot(SPEC)
    bad = copy.deepcopy(snap)
    bad["hosts"][0]["nodes"][0]["provider_uuid"] = str(uuid.uuid4())
    with pytest.raises(SnapshotError, match="which the snapshot does not hold"):
        snapshot.validate(bad)
    bad = copy.deepcopy(snap)
    bad["providers"][0]["inventories"]["VCPU"]["total"] = 2**40
    with pytest.raises(SnapshotError, match="providers/0/inventories/VCPU/total"):
        snapshot.validate(bad)
    bad = copy.deepcopy(snap)
    bad["version"] = 2
    with pytest.raises(SnapshotError, match="version"):
        snapshot.validate(bad)
    bad = copy.deepcopy(snap)
    bad["aggregates"][0]["hosts"].append("ghost")
    with pytest.raises(SnapshotError, match="unknown hosts"):
        snapshot.validate(bad)


@pytest.mark.parametrize("name", ["cloud.json", "cloud.json.gz"])
def test_save_and_load_round_trip(tmp_path: Path, name: str) -> None:
    snap = spec_snapshot(SPEC)
    snapshot.save(snap, tmp_path / name)
    assert snapshot.load(tmp_path / name) == json.loads(json.dumps(snap))
    assert load_cloud(tmp_path / name) == json.loads(json.dumps(snap))
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    assert load_cloud(tmp_path / "spec.json")["providers"] == snap["providers"]


def test_unreadable_files_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SnapshotError, match="not a JSON"):
        load_cloud(tmp_path / "bad.json")
    with pytest.raises(SnapshotError, match="No such file"):
        snapshot.load(tmp_path / "missing.json")


def test_throwaway_cloud_creates_and_deletes_through_the_claim() -> None:
    with ThrowawayCloud(spec_snapshot(SPEC), seed=7) as cloud:
        first = str(uuid.uuid4())
        [[chosen]] = cloud.create(spec_of(first), [first])
        with cloud.db.read() as conn:
            held = conn.execute(select(func.count()).select_from(tables.allocations)).scalar_one()
            recorded = conn.execute(
                select(tables.instances.c.host).where(tables.instances.c.uuid == first)
            ).scalar_one()
        assert held == 3 and recorded == chosen.service_host
        # A zone the cloud has, and one it has not.
        other = str(uuid.uuid4())
        [[in_az2]] = cloud.create(spec_of(other, availability_zone="az2"), [other])
        assert in_az2.service_host in {"big-0002", "big-0004", "gpu-0001", "gpu-0002"}
        nowhere = str(uuid.uuid4())
        with pytest.raises(BadRequest, match="az9 is not available"):
            cloud.create(spec_of(nowhere, availability_zone="az9"), [nowhere])
        huge = RequestSpec(flavor=Flavor(vcpus=64, memory_mb=1, root_gb=1), instance_uuid=nowhere)
        with pytest.raises(NoValidHost):
            cloud.create(huge, [nowhere])
        cloud.delete(first)
        cloud.delete(other)
        with cloud.db.read() as conn:
            held = conn.execute(select(func.count()).select_from(tables.allocations)).scalar_one()
            left = conn.execute(select(func.count()).select_from(tables.instances)).scalar_one()
        assert held == 0 and left == 0
        with pytest.raises(NotFound):
            cloud.delete(first)
        path = cloud.path
        assert path.exists()
    assert not path.exists()


def test_throwaway_cloud_is_deterministic_for_a_seed() -> None:
    def hosts(seed: int) -> list[str]:
        conf = default_conf()
        conf.set_override("host_subset_size", 3, "filter_scheduler")
        with ThrowawayCloud(spec_snapshot(SPEC), conf, seed=seed) as cloud:
            out = []
            for _ in range(10):
                u = str(uuid.uuid4())
                out.append(cloud.create(spec_of(u), [u])[0][0].service_host)
            return out

    assert hosts(3) == hosts(3)
