"""A brute-force transcription of upstream Placement 16.0.0's candidate search.

It follows `placement/objects/allocation_candidate.py` and
`research_context.py` step by step, with Python sets and loops over every
provider instead of SQL, so the property tests can check the numpy engine
against it on random small clouds. It is deliberately naive: clarity over
speed, no shared code with the engine.

One deliberate difference from upstream's code, shared with the engine:
upstream keeps a group's candidates in a set whose equality ignores the
anchor, so when a candidate made only of sharing providers serves several
trees, which of its anchors survives depends on set iteration order. Here
every anchor is kept (de-duplication happens on the final candidates, as
upstream's final set does).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

SHARES = "MISC_SHARES_VIA_AGGREGATE"


@dataclass(frozen=True)
class Inv:
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 1_000_000
    step_size: int = 1
    allocation_ratio: float = 1.0


@dataclass
class Cloud:
    # id -> (uuid, parent id)
    providers: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    inventory: dict[tuple[int, str], Inv] = field(default_factory=dict)
    used: dict[tuple[int, str], int] = field(default_factory=dict)
    traits: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    aggs: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))

    def root(self, pid: int) -> int:
        while self.providers[pid][1] is not None:
            pid = self.providers[pid][1]  # type: ignore[assignment]
        return pid

    def parent(self, pid: int) -> int | None:
        return self.providers[pid][1]

    def uuid(self, pid: int) -> str:
        return self.providers[pid][0]


@dataclass
class Group:
    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    required: list[frozenset[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    member_of: list[frozenset[str]] = field(default_factory=list)
    forbidden_aggs: set[str] = field(default_factory=set)
    in_tree: str | None = None

    @property
    def use_same_provider(self) -> bool:
        return bool(self.suffix)


@dataclass
class Wide:
    group_policy: str | None = None
    root_required: set[str] = field(default_factory=set)
    root_forbidden: set[str] = field(default_factory=set)
    same_subtrees: list[set[str]] = field(default_factory=list)
    nested_aware: bool = True


# A candidate: (frozenset of (uuid, rc, amount), frozenset of (suffix, frozenset uuids))
Key = tuple[frozenset[tuple[str, str, int]], frozenset[tuple[str, frozenset[str]]]]


@dataclass
class _AReq:
    anchor: int
    resources: list[tuple[int, str, int]]  # (provider, rc, amount)
    mappings: dict[str, set[int]]
    use_same_provider: bool = False


class NotFound(Exception):
    pass


def _cap_ok(cloud: Cloud, pid: int, rc: str, amount: int) -> bool:
    inv = cloud.inventory.get((pid, rc))
    if inv is None:
        return False
    used = cloud.used.get((pid, rc), 0)
    return (
        used + amount <= (inv.total - inv.reserved) * inv.allocation_ratio
        and inv.min_unit <= amount
        and inv.max_unit >= amount
        and amount % inv.step_size == 0
    )


def _with_resource(cloud: Cloud, rc: str, amount: int, tree: int | None) -> set[tuple[int, int]]:
    return {
        (p, cloud.root(p))
        for p in cloud.providers
        if _cap_ok(cloud, p, rc, amount) and (tree is None or cloud.root(p) == tree)
    }


def _in_aggs(cloud: Cloud, member_of: list[frozenset[str]]) -> set[int]:
    return {p for p in cloud.providers if all(cloud.aggs[p] & s for s in member_of)}


def _sharing_anchors(cloud: Cloud, sps: set[int]) -> set[tuple[int, int]]:
    return {
        (sp, cloud.root(q)) for sp in sps for q in cloud.providers if cloud.aggs[sp] & cloud.aggs[q]
    }


def _single(cloud: Cloud, g: Group, tree: int | None, anchors: set[int] | None) -> list[_AReq]:
    filtered: set[int] | None = None  # None: no filter yet
    if g.required:
        filtered = {p for p in cloud.providers if all(cloud.traits[p] & s for s in g.required)}
        if not filtered:
            return []
    if g.member_of:
        m = _in_aggs(cloud, g.member_of)
        filtered = m if filtered is None else filtered & m
        if not filtered:
            return []
    forbidden_ids: set[int] = set()
    if g.forbidden_aggs:
        forbidden_ids |= {p for p in cloud.providers if cloud.aggs[p] & g.forbidden_aggs}
    if g.forbidden:
        forbidden_ids |= {p for p in cloud.providers if cloud.traits[p] & g.forbidden}
    if filtered is not None:
        filtered -= forbidden_ids
        if not filtered:
            return []
    if g.resources:
        matched = set(cloud.providers)
        for rc, amount in g.resources.items():
            matched &= {p for p, _ in _with_resource(cloud, rc, amount, tree)}
    else:
        matched = set(cloud.providers)
    if filtered is not None:
        matched &= filtered
    matched -= forbidden_ids
    out: list[_AReq] = []
    for p in sorted(matched):
        res = [(p, rc, a) for rc, a in g.resources.items()]
        root = cloud.root(p)
        if anchors is None or root in anchors:
            out.append(_AReq(root, res, {g.suffix: {p}}))
        if SHARES in cloud.traits[p]:
            for _, anchor in sorted(_sharing_anchors(cloud, {p})):
                if anchor == root or (anchors is not None and anchor not in anchors):
                    continue
                out.append(_AReq(anchor, res, {g.suffix: {p}}))
    return out


def _several(
    cloud: Cloud, g: Group, tree: int | None, anchors: set[int] | None, sharing: set[int]
) -> list[_AReq]:
    if g.required:
        flat = set().union(*g.required)
        if not any(cloud.traits[p] & flat for p in cloud.providers):
            return []
    m = _in_aggs(cloud, g.member_of) if g.member_of else set()
    bad = {p for p in cloud.providers if cloud.aggs[p] & g.forbidden_aggs}
    cands: set[tuple[int, int, str]] = set()
    first = True
    for rc, amount in g.resources.items():
        with_res = _with_resource(cloud, rc, amount, tree)
        c = {(p, a, rc) for p, a in with_res}
        shr = set(sharing)
        if g.member_of:
            shr &= m
        shr &= {p for p, _ in with_res}
        if shr and tree is None:
            c |= {(sp, a, rc) for sp, a in _sharing_anchors(cloud, shr)}
        if anchors is not None:
            c = {x for x in c if x[1] in anchors}
        if g.member_of:
            c = {x for x in c if {x[0], x[1]} & m}
        if g.forbidden_aggs:
            c = {x for x in c if not ({x[0], x[1]} & bad)}
        if not c:
            return []
        if first:
            cands = c
            first = False
        else:
            both = {x[1] for x in cands} & {x[1] for x in c}
            cands = {x for x in cands | c if x[1] in both}
        if not cands:
            return []
    out: list[_AReq] = []
    by_tree: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for p, a, rc in sorted(cands):
        by_tree[a][rc].append(p)
    for anchor, per_rc in by_tree.items():
        if set(per_rc) != set(g.resources):
            continue
        rcs = sorted(per_rc)
        for combo in itertools.product(*(per_rc[rc] for rc in rcs)):
            if any(cloud.traits[p] & g.forbidden for p in combo):
                continue
            have = set().union(*(cloud.traits[p] for p in combo))
            if not all(s & have for s in g.required):
                continue
            res = [(p, rc, g.resources[rc]) for p, rc in zip(combo, rcs, strict=True)]
            out.append(_AReq(anchor, res, {g.suffix: set(combo)}))
    return out


def _ancestors(cloud: Cloud, p: int) -> set[int]:
    out = {p}
    while cloud.parent(p) is not None:
        p = cloud.parent(p)  # type: ignore[assignment]
        out.add(p)
    return out


def reference(
    cloud: Cloud, groups: list[Group], wide: Wide, max_candidates: int = -1
) -> tuple[set[Key], set[str]]:
    """All candidates (as keys) and the uuids of the summarised providers."""
    try:
        return _reference(cloud, groups, wide, max_candidates)
    except NotFound:
        return set(), set()


def _reference(
    cloud: Cloud, groups: list[Group], wide: Wide, max_candidates: int
) -> tuple[set[Key], set[str]]:
    has_trees = any(parent is not None for _, parent in cloud.providers.values())
    sharing = {p for p in cloud.providers if SHARES in cloud.traits[p]}
    anchors: set[int] | None = None
    if wide.root_required or wide.root_forbidden:
        anchors = {
            p
            for p in cloud.providers
            if cloud.parent(p) is None
            and wide.root_required <= cloud.traits[p]
            and not (wide.root_forbidden & cloud.traits[p])
        }
        if not anchors:
            raise NotFound
    by_suffix: dict[str, list[_AReq]] = {}
    multi_rcs: set[str] = set()
    seen_rcs: set[str] = set()
    for g in groups:
        multi_rcs |= seen_rcs & set(g.resources)
        seen_rcs |= set(g.resources)
        if g.member_of and not _in_aggs(cloud, g.member_of):
            raise NotFound
        tree = None
        if g.in_tree is not None:
            found = [p for p in cloud.providers if cloud.uuid(p) == g.in_tree]
            if not found:
                raise NotFound
            tree = cloud.root(found[0])
        for rc, amount in g.resources.items():
            if not _with_resource(cloud, rc, amount, tree):
                raise NotFound
        if not g.use_same_provider and (sharing or has_trees):
            areqs = _several(cloud, g, tree, anchors, sharing)
        else:
            areqs = _single(cloud, g, tree, anchors)
        if not areqs:
            raise NotFound
        for a in areqs:
            a.use_same_provider = g.use_same_provider
        by_suffix[g.suffix] = areqs

    by_anchor: dict[int, dict[str, list[_AReq]]] = defaultdict(lambda: defaultdict(list))
    for suffix, areqs in by_suffix.items():
        for a in areqs:
            by_anchor[a.anchor][suffix].append(a)
    granular = len([s for s in by_suffix if s])
    results: dict[Key, list[tuple[int, str, int]]] = {}
    cap = max(max_candidates, 1) if max_candidates >= 0 else None
    done = False
    for anchor in sorted(by_anchor):
        lists = by_anchor[anchor]
        if set(lists) != set(by_suffix):
            continue
        for combo in itertools.product(*(lists[s] for s in by_suffix)):
            if wide.group_policy == "isolate":
                used = set().union(
                    *(next(iter(a.mappings.values())) for a in combo if a.use_same_provider)
                )
                if len(used) != granular:
                    continue
            if not _same_subtree_ok(cloud, combo, wide):
                continue
            amounts: dict[tuple[int, str], int] = defaultdict(int)
            mappings: dict[str, set[int]] = defaultdict(set)
            for a in combo:
                for p, rc, amount in a.resources:
                    amounts[(p, rc)] += amount
                for s, ps in a.mappings.items():
                    mappings[s] |= ps
            if any(_exceeds(cloud, p, rc, amount) for (p, rc), amount in amounts.items()):
                continue
            key: Key = (
                frozenset((cloud.uuid(p), rc, amount) for (p, rc), amount in amounts.items()),
                frozenset((s, frozenset(cloud.uuid(p) for p in ps)) for s, ps in mappings.items()),
            )
            results.setdefault(key, [(p, rc, amount) for (p, rc), amount in amounts.items()])
            if cap is not None and len(results) >= cap:
                done = True
                break
        if done:
            break
    if not wide.nested_aware and has_trees:
        kept = {}
        for key, res in results.items():
            roots = {p: cloud.root(p) for p, _, _ in res}
            if len(roots) == len(set(roots.values())):
                kept[key] = res
        used_providers = {p for res in kept.values() for p, _, _ in res}
        return set(kept), {cloud.uuid(p) for p in used_providers}
    trees = {cloud.root(p) for res in results.values() for p, _, _ in res}
    shown = {cloud.uuid(p) for p in cloud.providers if cloud.root(p) in trees}
    return set(results), shown


def _same_subtree_ok(cloud: Cloud, combo: tuple[_AReq, ...], wide: Wide) -> bool:
    for same in wide.same_subtrees:
        rps: set[int] = set()
        for a in combo:
            for s in same:
                if a.mappings.get(s):
                    rps |= a.mappings[s]
        if len(rps) == 1:
            continue
        common = set.intersection(*(_ancestors(cloud, p) for p in rps))
        if not (common & rps):
            return False
    return True


def _exceeds(cloud: Cloud, p: int, rc: str, amount: int) -> bool:
    inv = cloud.inventory[(p, rc)]
    capacity = int((inv.total - inv.reserved) * inv.allocation_ratio)
    return cloud.used.get((p, rc), 0) + amount > capacity or amount > inv.max_unit


def summary_resources(cloud: Cloud, uuid: str) -> dict[str, tuple[int, int]]:
    pid = next(p for p in cloud.providers if cloud.uuid(p) == uuid)
    return {
        rc: (int((inv.total - inv.reserved) * inv.allocation_ratio), cloud.used.get((p, rc), 0))
        for (p, rc), inv in cloud.inventory.items()
        if p == pid
    }


# --- the reference on hand-checked cases ------------------------------------------


def _cloud(*providers: tuple[int, int | None]) -> Cloud:
    cloud = Cloud()
    for pid, parent in providers:
        cloud.providers[pid] = (f"rp{pid}", parent)
    return cloud


def test_reference_single_hosts() -> None:
    cloud = _cloud((1, None), (2, None))
    for pid in (1, 2):
        cloud.inventory[(pid, "VCPU")] = Inv(total=4)
    cloud.used[(2, "VCPU")] = 4
    found, shown = reference(cloud, [Group(resources={"VCPU": 2})], Wide())
    assert found == {(frozenset({("rp1", "VCPU", 2)}), frozenset({("", frozenset({"rp1"}))}))}
    assert shown == {"rp1"}


def test_reference_nested_and_sharing() -> None:
    cloud = _cloud((1, None), (2, 1), (3, None))
    cloud.inventory[(1, "VCPU")] = Inv(total=4)
    cloud.inventory[(2, "SRIOV_NET_VF")] = Inv(total=2)
    cloud.inventory[(3, "DISK_GB")] = Inv(total=100)
    cloud.traits[3].add(SHARES)
    cloud.aggs[1].add("agg")
    cloud.aggs[3].add("agg")
    request = [Group(resources={"VCPU": 1, "SRIOV_NET_VF": 1, "DISK_GB": 10})]
    found, shown = reference(cloud, request, Wide())
    ((allocations, mappings),) = found
    assert allocations == {("rp1", "VCPU", 1), ("rp2", "SRIOV_NET_VF", 1), ("rp3", "DISK_GB", 10)}
    assert mappings == {("", frozenset({"rp1", "rp2", "rp3"}))}
    assert shown == {"rp1", "rp2", "rp3"}
    # Before 1.29, two providers of one tree cannot serve one request.
    assert reference(cloud, request, Wide(nested_aware=False)) == (set(), set())


def test_reference_isolate_and_merged_capacity() -> None:
    cloud = _cloud((1, None), (2, 1), (3, 1))
    for pid in (2, 3):
        cloud.inventory[(pid, "SRIOV_NET_VF")] = Inv(total=1)
    groups = [
        Group(suffix="1", resources={"SRIOV_NET_VF": 1}),
        Group(suffix="2", resources={"SRIOV_NET_VF": 1}),
    ]
    isolated, _ = reference(cloud, groups, Wide(group_policy="isolate"))
    assert len(isolated) == 2
    # With "none" both groups may pick one PF, but it has room for one VF only.
    shared, _ = reference(cloud, groups, Wide(group_policy="none"))
    assert shared == isolated
