"""The scheduler endpoint: Nova's select_destinations semantics and its refusals.

The endpoint is called as oslo.messaging's dispatcher calls it. The scheduler
it talks to here is a recorder of what it was asked: these tests are about
what reaches the engine and what goes back to Nova, not about scheduling
(tests/functional/test_rpc_nova.py runs the real engine).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from corral.rpc.endpoint import SchedulerEndpoint
from corral.rpc.envelope import check_size, read_context
from corral.rpc.errors import InvalidMessage, NovaNoValidHost
from corral.scheduler.spec import AllocationRequest, NoValidHost, RequestSpec, Selection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nova"
CTXT = json.loads((FIXTURES / "context.json").read_text())
SPEC = json.loads((FIXTURES / "request_spec_boot.json").read_text())
UUIDS = ["a2b6c5d4-0f1e-4d3c-9b8a-7f6e5d4c3b2a", "b2b6c5d4-0f1e-4d3c-9b8a-7f6e5d4c3b2a"]


def selection(host: str) -> Selection:
    return Selection(
        service_host=host,
        nodename=f"{host}.example.org",
        compute_node_uuid="0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
        cell_uuid="1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
        allocation_request=AllocationRequest({}),
        allocation_request_version="1.36",
        limits={"vcpu": 16},
    )


class Recorder:
    """Answers each instance with its host and one alternate, and records the calls."""

    def __init__(self, explanation: str | None = None) -> None:
        self.calls: list[tuple[RequestSpec, list[str], bool]] = []
        self.explanation = explanation

    def select_destinations(
        self, spec: RequestSpec, instance_uuids: Sequence[str], *, return_alternates: bool = True
    ) -> list[list[Selection]]:
        self.calls.append((spec, list(instance_uuids), return_alternates))
        if self.explanation is not None:
            raise NoValidHost(self.explanation)
        return [
            [selection(f"host-{i}")] + ([selection("alt")] if return_alternates else [])
            for i, _ in enumerate(instance_uuids)
        ]


def endpoint(scheduler: Recorder, max_bytes: int = 4 * 1024 * 1024) -> SchedulerEndpoint:
    return SchedulerEndpoint(scheduler=scheduler, db=None, max_message_bytes=max_bytes)


def test_selection_objects_with_alternates() -> None:
    recorder = Recorder()
    result = endpoint(recorder).select_destinations(
        CTXT, spec_obj=SPEC, instance_uuids=UUIDS, return_objects=True, return_alternates=True
    )
    assert [[s["nova_object.data"]["service_host"] for s in per] for per in result] == [
        ["host-0", "alt"],
        ["host-1", "alt"],
    ]
    ((spec, uuids, alternates),) = recorder.calls
    assert spec.flavor.vcpus == 4 and uuids == UUIDS and alternates is True


def test_alternates_only_with_objects_as_in_nova() -> None:
    recorder = Recorder()
    ep = endpoint(recorder)
    objects = ep.select_destinations(
        CTXT, spec_obj=SPEC, instance_uuids=UUIDS, return_objects=True, return_alternates=False
    )
    assert [len(per) for per in objects] == [1, 1]
    legacy = ep.select_destinations(
        CTXT, spec_obj=SPEC, instance_uuids=UUIDS, return_objects=False, return_alternates=True
    )
    assert legacy == [
        {"host": "host-0", "nodename": "host-0.example.org", "limits": {"vcpu": 16}},
        {"host": "host-1", "nodename": "host-1.example.org", "limits": {"vcpu": 16}},
    ]
    assert [alternates for _, _, alternates in recorder.calls] == [False, False]


def test_no_valid_host_is_novas() -> None:
    recorder = Recorder("0/3 hosts are available: 3 Insufficient MEMORY_MB.")
    with pytest.raises(NovaNoValidHost) as info:
        endpoint(recorder).select_destinations(
            CTXT, spec_obj=SPEC, instance_uuids=UUIDS[:1], return_objects=True
        )
    exc = info.value
    assert type(exc).__module__ == "nova.exception" and type(exc).__name__ == "NoValidHost"
    assert str(exc) == "No valid host was found. 0/3 hosts are available: 3 Insufficient MEMORY_MB."
    assert exc.kwargs == {
        "reason": "0/3 hosts are available: 3 Insufficient MEMORY_MB.",
        "code": 500,
    }


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"request_spec": {}, "filter_properties": {}}, "spec_obj: is required"),
        ({"spec_obj": SPEC}, "instance_uuids: is required"),
        ({"spec_obj": SPEC, "instance_uuids": ["nope"]}, "instance_uuids[0]: expected a UUID"),
        ({"spec_obj": SPEC, "instance_uuids": UUIDS, "return_objects": "yes"}, "return_objects"),
        ({"spec_obj": SPEC, "instance_uuids": UUIDS, "hint": 1}, "unexpected arguments: hint"),
        ({"spec_obj": "x" * 70_000, "instance_uuids": UUIDS}, "max_rpc_message_bytes allows"),
    ],
    ids=["legacy-dicts", "no-uuids", "bad-uuid", "flag-not-bool", "extra-arg", "too-big"],
)
def test_refusals_reach_no_scheduler(kwargs: dict[str, Any], expected: str) -> None:
    recorder = Recorder()
    ep = endpoint(recorder, max_bytes=65_536)
    with pytest.raises(InvalidMessage) as info:
        ep.select_destinations(CTXT, **kwargs)
    assert expected in str(info.value)
    assert recorder.calls == [] and ep.refused == 1


def test_expected_wrapper_carries_the_refusal() -> None:
    class Expected(Exception):
        def __init__(self) -> None:
            import sys

            self.exc_info = sys.exc_info()

    ep = SchedulerEndpoint(
        scheduler=Recorder(), db=None, max_message_bytes=65_536, expected=Expected
    )
    with pytest.raises(Expected) as info:
        ep.select_destinations(CTXT, spec_obj="junk", instance_uuids=UUIDS)
    assert isinstance(info.value.exc_info[1], InvalidMessage)


def test_size_and_depth_are_measured() -> None:
    assert check_size({}, {"a": "x" * 100}, 1000) < 1000
    with pytest.raises(InvalidMessage, match="max_rpc_message_bytes allows 2000"):
        check_size({}, {"a": "x" * 5000}, 2000)
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    with pytest.raises(InvalidMessage, match="cannot be measured"):
        check_size({}, {"a": deep}, 1_000_000)


def test_context() -> None:
    context = read_context(CTXT)
    assert context.global_request_id == "req-9a1f9f62-5b8f-4c43-a8c4-0f2d1b6b1c22"
    with pytest.raises(InvalidMessage, match=r"context\.request_id"):
        read_context({"request_id": "x" * 300})
    with pytest.raises(InvalidMessage, match="context"):
        read_context(["not", "a", "dict"])
