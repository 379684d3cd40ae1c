"""corral.whatif.workload: trace files, the Azure vmtable reader, the generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.whatif.workload import (
    FLAVORS,
    WorkloadError,
    generate,
    load_workload,
    read_azure_vmtable,
    read_trace,
)

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "azure_vmtable_sample.csv"


def test_csv_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "time,action,instance,flavor,vcpus,memory_mb,disk_gb,project,server_group,zone\n"
        "0,create,a,m1.small,,,,p1,,az1\n"
        "5,create,b,,4,8192,40,p2,g1,\n"
        "9,delete,a,,,,,,,\n"
    )
    events = read_trace(path)
    assert [(e.time, e.action, e.instance) for e in events] == [
        (0, "create", "a"),
        (5, "create", "b"),
        (9, "delete", "a"),
    ]
    assert events[0].shape == FLAVORS["m1.small"] and events[0].zone == "az1"
    assert events[1].shape is not None and events[1].shape.vcpus == 4
    assert events[1].server_group == "g1"


def test_jsonl_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"time": 1, "action": "create", "instance": "x", "vcpus": 2, "memory_mb": 1024}\n'
        "\n"
        '{"time": 2, "action": "delete", "instance": "x"}\n'
    )
    assert [e.action for e in read_trace(path)] == ["create", "delete"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("x,create,a,m1.small,,,\n", "line 2: time 'x' is not a number"),
        ("1,boot,a,m1.small,,,\n", "line 2: action 'boot'"),
        ("1,create,a,m9.huge,,,\n", "line 2: a create needs"),
        ("1,create,a,,0,10,0\n", "line 2: vcpus 0 is not between 1"),
        ("1,create,a,,1,-5,0\n", "line 2: memory_mb -5"),
        ("5,create,a,m1.tiny,,,\n1,create,b,m1.tiny,,,\n", "line 3: time 1.0 is before 5.0"),
        ("1,create,a,m1.tiny,,,\n2,create,a,m1.tiny,,,\n", "line 3: instance 'a' already"),
        ("1,create,,m1.tiny,,,\n", "line 2: instance is required"),
        ("-1,create,a,m1.tiny,,,\n", "line 2: time -1.0 is not between"),
    ],
)
def test_bad_rows_refused_with_line_numbers(tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,action,instance,flavor,vcpus,memory_mb,disk_gb\n" + rows)
    with pytest.raises(WorkloadError, match=message.replace("(", r"\(")):
        read_trace(path)


def test_bad_header_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("when,what\n1,2\n")
    with pytest.raises(WorkloadError, match="line 1: the header"):
        read_trace(tmp_path / "h.csv")
    (tmp_path / "j.jsonl").write_text('{"time": 1, "action": "delete", "instance": "a"}\n[1]\n')
    with pytest.raises(WorkloadError, match="line 2: not a JSON object"):
        read_trace(tmp_path / "j.jsonl")


def test_azure_vmtable_as_published() -> None:
    events = read_azure_vmtable(FIXTURE)
    assert len(events) == 10
    assert [e.instance for e in events if e.action == "create"] == [
        "vm-a1",
        "vm-a2",
        "vm-a3",
        "vm-a4",
        "vm-a5",
    ]
    big = next(e for e in events if e.instance == "vm-a4" and e.shape)
    assert big.shape is not None
    assert (big.shape.vcpus, big.shape.memory_mb) == (48, 128 * 1024)
    assert big.project == "sub-2"
    times = [e.time for e in events]
    assert times == sorted(times)
    assert load_workload(f"azure:{FIXTURE}", 0) == events


def test_azure_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "vmtable.csv"
    path.write_text("vm,sub,dep,10,5,1,1,1,Unknown,2,4\n")
    with pytest.raises(WorkloadError, match=r"line 1: vmcreated 10\.0 and vmdeleted 5\.0"):
        read_azure_vmtable(path)
    path.write_text("vm,sub,dep,1,5,1,1,1,Unknown,2\n")
    with pytest.raises(WorkloadError, match="line 1: 10 columns"):
        read_azure_vmtable(path)
    path.write_text("vm,sub,dep,1,5,1,1,1,Unknown,two,4\n")
    with pytest.raises(WorkloadError, match="line 1: vmcorecountbucket"):
        read_azure_vmtable(path)


def test_generator_is_deterministic_for_a_seed() -> None:
    text = "gen:poisson,instances=500,rate=120,lifetime=exp:2,mix=m1.small:1/m1.large:1,zones=az1"
    first = generate(text, 11)
    assert first == generate(text, 11)
    assert first != generate(text, 12)
    creates = [e for e in first if e.action == "create"]
    assert len(creates) == 500
    assert {e.shape for e in creates} == {FLAVORS["m1.small"], FLAVORS["m1.large"]}
    assert {e.zone for e in creates} == {"az1", None}
    assert 0 < sum(e.action == "delete" for e in first) < 500
    assert all(e.action == "create" for e in generate("gen:poisson,lifetime=forever", 1))


@pytest.mark.parametrize(
    "text",
    [
        "gen:uniform",
        "gen:poisson,instances=0",
        "gen:poisson,color=red",
        "gen:poisson,lifetime=weibull:1",
        "gen:poisson,mix=m1.huge:1",
        "gen:poisson,rate=abc",
    ],
)
def test_generator_refuses_bad_parameters(text: str) -> None:
    with pytest.raises(WorkloadError):
        generate(text, 0)
