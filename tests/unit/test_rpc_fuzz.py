"""The RPC endpoint under fuzzed Nova primitives: decoded or refused, nothing else.

Each example starts from a primitive Nova 34 sends (tests/fixtures/nova/) and
applies a few mutations at places drawn from the primitive itself: a value of
the wrong type, a key removed, an unknown key, another nova_object.name or
nova_object.version, a huge string or list, a value wrapped in deep nesting,
or the whole tree swapped for junk. The result goes to the endpoint as
oslo.messaging's dispatcher hands it over.

What may come out: select_destinations returns Selections, or raises
InvalidMessage (counted in `refused`) or Nova's NoValidHost; a cast returns
None, having either reached the store (a recorder here) or been refused and
counted. Any other exception is a decoder bug: a message could crash a call
or make a cast die in oslo.messaging's executor instead of being refused with
a reason.

The number of examples is bounded and no deadline is set, so the tests are
stable on a slow, shared machine and run in `make test`.
"""

from __future__ import annotations

import copy
import json
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from corral.rpc import endpoint as endpoint_module
from corral.rpc.endpoint import SchedulerEndpoint
from corral.rpc.errors import InvalidMessage, NovaNoValidHost
from corral.scheduler.spec import AllocationRequest, NoValidHost, RequestSpec, Selection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nova"
MAX_BYTES = 256 * 1024
EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


CTXT = fixture("context")
SPECS = [fixture(n) for n in ("request_spec_boot", "request_spec_minimal", "request_spec_bfv")]
SPECS.append(fixture("request_spec_v1_8"))
UUID = "a2b6c5d4-0f1e-4d3c-9b8a-7f6e5d4c3b2a"


# --- mutations ---------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "1.0", "99.99", "2.0", "x", UUID, "Flavor", "RequestSpec", "nova"]),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the tree a mutation can reach (the root included)."""
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, (*prefix, i)))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def _set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


def _deep(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value]
    return value


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """`base`, copied, with one to four mutations."""
    tree = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(tree)))
        target = _get(tree, path)
        kind = draw(
            st.sampled_from(
                ["replace", "delete", "add", "version", "name", "huge", "nest", "namespace"]
            )
        )
        if kind == "replace":
            tree = _set(tree, path, draw(junk))
        elif kind == "delete" and path:
            parent = _get(tree, path[:-1])
            del parent[path[-1]]
        elif kind == "add" and isinstance(target, dict):
            target[draw(st.text(max_size=12))] = draw(junk)
        elif kind in ("version", "name", "namespace") and isinstance(target, dict):
            key = {
                "version": "nova_object.version",
                "name": "nova_object.name",
                "namespace": "nova_object.namespace",
            }[kind]
            target[key] = draw(
                st.one_of(
                    junk,
                    st.sampled_from(["1.0", "1.99", "2.0", "0.1", "1", "1.2.3", "Instance"]),
                )
            )
        elif kind == "huge":
            size = draw(st.sampled_from([1_000, 70_000, 300_000]))
            big: Any = draw(
                st.sampled_from(
                    ["x" * size, ["x"] * (size // 10), {f"k{i}": i for i in range(size // 100)}]
                )
            )
            tree = _set(tree, path, big)
        elif kind == "nest":
            levels = draw(st.sampled_from([3, 40, 120, 300]))
            tree = _set(tree, path, _deep(target, levels))
    return tree


# --- the endpoint ------------------------------------------------------------------


def _selection(host: str) -> Selection:
    return Selection(
        service_host=host,
        nodename=f"{host}.example.org",
        compute_node_uuid="0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
        cell_uuid="1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
        allocation_request=AllocationRequest({}),
        allocation_request_version="1.36",
        limits={},
    )


class Engine:
    """Places every instance, or finds no host for any: what the engine may answer."""

    def __init__(self, no_host: bool) -> None:
        self.no_host = no_host
        self.calls = 0

    def select_destinations(
        self, spec: RequestSpec, instance_uuids: Sequence[str], *, return_alternates: bool = True
    ) -> list[list[Selection]]:
        assert isinstance(spec, RequestSpec)
        self.calls += 1
        if self.no_host:
            raise NoValidHost("0/1 hosts available")
        return [[_selection(f"h{i}")] for i, _ in enumerate(instance_uuids)]


@pytest.mark.parametrize("no_host", [False, True], ids=["placed", "no-host"])
@FUZZ
@given(data=st.data())
def test_select_destinations_decodes_or_refuses(no_host: bool, data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(SPECS).flatmap(mutated), label="spec_obj")
    # The envelope is mostly right, so that most examples test the spec's decoder.
    envelope = data.draw(st.integers(0, 3), label="envelope mutated")
    uuids: Any = [UUID]
    flags: Any = True
    ctxt: Any = CTXT
    if envelope == 1:
        uuids = data.draw(
            st.one_of(
                st.lists(st.sampled_from([UUID, UUID.upper(), "nope", 7, None]), max_size=5),
                junk,
            ),
            label="instance_uuids",
        )
    elif envelope == 2:
        flags = data.draw(junk, label="return_objects")
    elif envelope == 3:
        ctxt = data.draw(mutated(CTXT), label="ctxt")
    engine = Engine(no_host)
    ep = SchedulerEndpoint(scheduler=engine, db=None, max_message_bytes=MAX_BYTES)
    try:
        result = ep.select_destinations(
            ctxt, spec_obj=spec, instance_uuids=uuids, return_objects=flags, return_alternates=True
        )
    except InvalidMessage as exc:
        assert ep.refused == 1 and engine.calls == 0
        assert exc.problem
        event("refused")
    except NovaNoValidHost:
        assert no_host and engine.calls == 1 and ep.refused == 0
        event("no valid host")
    else:
        assert not no_host and engine.calls == 1 and ep.refused == 0
        event("decoded")
        assert isinstance(result, list) and len(result) == len(uuids)


def test_valid_specs_are_decoded() -> None:
    """The mutations' starting points all decode: the fuzz reaches past the first check."""
    engine = Engine(no_host=False)
    ep = SchedulerEndpoint(scheduler=engine, db=None, max_message_bytes=MAX_BYTES)
    for spec in SPECS:
        ep.select_destinations(CTXT, spec_obj=spec, instance_uuids=[UUID], return_objects=True)
    assert engine.calls == len(SPECS) and ep.refused == 0


class Store:
    """corral.compute.reports as the casts call it; records what reached it."""

    def __init__(self) -> None:
        self.writes = 0

    def _write(self, *_args: Any) -> None:
        self.writes += 1

    def delete_aggregate(self, *_args: Any) -> bool:
        self.writes += 1
        return True

    def sync_instances(self, *_args: Any) -> tuple[list[str], list[str]]:
        self.writes += 1
        return [], []

    def module(self) -> types.SimpleNamespace:
        return types.SimpleNamespace(
            update_aggregates=self._write,
            delete_aggregate=self.delete_aggregate,
            update_instances=self._write,
            delete_instance=self._write,
            sync_instances=self.sync_instances,
        )


CASTS: dict[str, dict[str, Any]] = {
    "update_aggregates": {"aggregates": fixture("aggregate_list")},
    "delete_aggregate": {"aggregate": fixture("aggregate")},
    "update_instance_info": {"host_name": "compute-1", "instance_info": fixture("instance_list")},
    "delete_instance_info": {"host_name": "compute-1", "instance_uuid": UUID},
    "sync_instance_info": {"host_name": "compute-1", "instance_uuids": [UUID]},
}


def _cast(store: Store, method: str, args: dict[str, Any]) -> SchedulerEndpoint:
    ep = SchedulerEndpoint(scheduler=None, db=object(), max_message_bytes=MAX_BYTES)  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(endpoint_module, "compute_reports", store.module())
        getattr(ep, method)(CTXT, **args)
    return ep


@pytest.mark.parametrize("method", sorted(CASTS))
def test_valid_casts_reach_the_store(method: str) -> None:
    store = Store()
    ep = _cast(store, method, CASTS[method])
    assert store.writes == 1 and ep.refused == 0


@pytest.mark.parametrize("method", sorted(CASTS))
@FUZZ
@given(data=st.data())
def test_casts_apply_or_refuse(method: str, data: st.DataObject) -> None:
    args = data.draw(mutated(CASTS[method]), label="args")
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        # oslo.messaging hands the endpoint keyword arguments: always a dict of names.
        args = {"aggregates": args}
    args = {k: v for k, v in args.items() if k.isidentifier() and k != "ctxt"}
    store = Store()
    ep = _cast(store, method, args)
    assert store.writes + ep.refused == 1, (store.writes, ep.refused)
    event("applied" if store.writes else "refused")
