"""Parsing Placement's filter query parameters, with upstream's validation and messages.

Shared by GET /allocation_candidates and GET /resource_providers. Every
parser raises `BadRequest` with the exact text (and error code) upstream
Placement 16.0.0 gives, so clients that match on messages keep working.

Value parsers (one parameter value in, a normalised value out):
    parse_resources        "VCPU:2,MEMORY_MB:1024"            -> {"VCPU": 2, ...}
    parse_traits_value     "A,!B" or "in:A,B"                 -> ([{A}], {B}) / ([{A, B}], {})
    parse_member_of_value  "in:u1,u2" / "!u3" / "!in:u4,u5"   -> ({u1, u2}, {}) / ({}, {u3})
    parse_in_tree          " uuid "                           -> "uuid"

Parameter parsers (all values of one key, with the microversion rules):
    parse_required         required / requiredN
    parse_member_of        member_of / member_ofN

Whole-request parsers for GET /allocation_candidates:
    parse_request_wide_params  limit, group_policy, root_required, same_subtree
    parse_request_groups       the (suffixed) request groups and their cross checks
    parse_candidate_request    both of the above plus the group_policy rule
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from corral.api.microversion import Version
from corral.errors import BadRequest
from corral.placement.request import (
    CandidateRequest,
    GroupPolicy,
    RequestGroup,
    RequestWideParams,
)
from corral.uuids import is_uuid_like

Query = Sequence[tuple[str, str]]

# Upstream's error codes for query problems.
CODE_BAD_VALUE = "placement.query.bad_value"
CODE_MISSING_VALUE = "placement.query.missing_value"
CODE_DUPLICATE_KEY = "placement.query.duplicate_key"

# Microversions at which the rules change.
FORBIDDEN_TRAITS_MINOR = 22
MULTI_MEMBER_OF_MINOR = 24
FORBIDDEN_AGGREGATES_MINOR = 32
VERBOSE_SUFFIX_MINOR = 33
SAME_SUBTREE_MINOR = 36
ANY_TRAITS_MINOR = 39
NESTED_AWARE_MINOR = 29

_GROUP_KEYS = ("resources", "required", "member_of", "in_tree")
_KEYS_ALTERNATION = "|".join(_GROUP_KEYS)
_KEY_PATTERN = re.compile(rf"^({_KEYS_ALTERNATION})([1-9][0-9]*)?$")
_KEY_PATTERN_1_33 = re.compile(rf"^({_KEYS_ALTERNATION})([a-zA-Z0-9_-]{{1,64}})?$")

_RESOURCES_FORM = (
    "Badly formed resources parameter. Expected resources query string parameter "
    "in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: "
)


def values_of(query: Query, key: str) -> list[str]:
    """Every value of `key`, in query-string order."""
    return [v for k, v in query if k == key]


# --- value parsers -------------------------------------------------------------


def parse_resources(value: str) -> dict[str, int]:
    """`RC:AMOUNT,RC:AMOUNT` -> {rc: amount}; amounts are integers >= 1.

    A class named twice keeps the last amount, as upstream.
    """
    if value.strip() == "":
        raise BadRequest(_RESOURCES_FORM + "empty string.")
    result: dict[str, int] = {}
    for item in value.split(","):
        parts = item.split(":")
        if len(parts) != 2:
            raise BadRequest(f"{_RESOURCES_FORM}{item}.")
        rc_name, raw_amount = parts
        try:
            amount = int(raw_amount)
        except ValueError:
            raise BadRequest(
                f"Requested resource {rc_name} expected positive integer amount. Got: {raw_amount}."
            ) from None
        if amount < 1:
            raise BadRequest(f"Requested resource {rc_name} requires amount >= 1. Got: {amount}.")
        result[rc_name] = amount
    return result


def parse_traits_value(
    value: str, *, allow_forbidden: bool, allow_any_traits: bool
) -> tuple[list[frozenset[str]], frozenset[str]]:
    """One `required` value -> (any-of groups, forbidden traits).

    `A,B,!C` gives ([{A}, {B}], {C}); `in:A,B` (from 1.39) gives ([{A, B}], {}).
    Any number of leading `!` count as one (upstream keeps that quirk).
    """
    if value.startswith("in:"):
        if not allow_any_traits:
            raise BadRequest(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"only supported since microversion 1.39. Got: {value}"
            )
        any_traits = frozenset(part.strip() for part in value[3:].split(","))
        if not all(any_traits):
            raise BadRequest(
                "Invalid query string parameters: Expected 'required' parameter value of "
                "the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: "
                f"{value}"
            )
        if any(trait.startswith("!") for trait in any_traits):
            raise BadRequest(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"does not support forbidden traits. Got: {value}"
            )
        return [any_traits], frozenset()

    names = [part.strip() for part in value.split(",")]
    forbidden = frozenset(name.lstrip("!") for name in names if name.startswith("!"))
    if not all(names) or not all(forbidden):
        expected = (
            "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
        )
        raise BadRequest(
            "Invalid query string parameters: Expected 'required' parameter value of "
            f"the form: {expected}. Got an empty trait in: {value}"
        )
    required = [frozenset([name]) for name in names if not name.startswith("!")]
    if forbidden and not allow_forbidden:
        raise BadRequest(
            "Invalid query string parameters: Expected 'required' parameter value of "
            f"the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}"
        )
    return required, forbidden


def parse_member_of_value(value: str) -> tuple[frozenset[str], frozenset[str]]:
    """One `member_of` value -> (any-of aggregate uuids, forbidden aggregate uuids).

    Forms: `U`, `in:U1,U2`, `!U`, `!in:U1,U2`.
    """
    if "," in value and not value.startswith(("in:", "!in:")):
        raise BadRequest(
            "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' "
            f"keyword using the valid microversion. Got: {value}"
        )
    required: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    if value.startswith("!in:"):
        forbidden = frozenset(value[4:].split(","))
    elif value.startswith("!"):
        forbidden = frozenset([value[1:]])
    elif value.startswith("in:"):
        required = frozenset(value[3:].split(","))
    else:
        required = frozenset([value])
    for agg in sorted(required | forbidden):
        if not is_uuid_like(agg):
            raise BadRequest(
                "Invalid query string parameters: Expected 'member_of' parameter to "
                f"contain valid UUID(s). Got: {agg}"
            )
    return required, forbidden


def parse_in_tree(value: str) -> str:
    """An `in_tree` value: one provider uuid (surrounding blanks ignored)."""
    stripped = value.strip()
    if not is_uuid_like(stripped):
        raise BadRequest(
            "Invalid query string parameters: Expected 'in_tree' parameter to be a "
            f"format of uuid. Got: {value}"
        )
    return stripped


# --- parameter parsers -----------------------------------------------------------


def parse_required(
    values: Sequence[str], version: Version
) -> tuple[tuple[frozenset[str], ...], frozenset[str]]:
    """All values of one `required{suffix}` key -> (any-of groups, forbidden).

    Forbidden traits (`!T`) from 1.22; `in:` and repeating the key from 1.39
    (before that only the last value counts).
    """
    allow_forbidden = version.at_least(FORBIDDEN_TRAITS_MINOR)
    allow_any = version.at_least(ANY_TRAITS_MINOR)
    if not allow_any:
        values = values[-1:]
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        groups, banned = parse_traits_value(
            value, allow_forbidden=allow_forbidden, allow_any_traits=allow_any
        )
        required.extend(groups)
        forbidden |= banned
    return tuple(required), frozenset(forbidden)


def parse_member_of(
    values: Sequence[str], version: Version, suffix: str = ""
) -> tuple[tuple[frozenset[str], ...], frozenset[str]]:
    """All values of one `member_of{suffix}` key -> (any-of groups, forbidden).

    Repeating the key from 1.24; forbidden aggregates (`!`) from 1.32.
    """
    if not version.at_least(MULTI_MEMBER_OF_MINOR) and len(values) > 1:
        raise BadRequest(f"Multiple member_of{suffix} parameters are not supported")
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        wanted, banned = parse_member_of_value(value)
        if wanted:
            required.append(wanted)
        if banned:
            if not version.at_least(FORBIDDEN_AGGREGATES_MINOR):
                raise BadRequest(
                    f"Forbidden member_of{suffix} parameters are not supported in the "
                    "specified microversion"
                )
            forbidden |= banned
    return tuple(required), frozenset(forbidden)


def parse_root_required(values: Sequence[str]) -> tuple[frozenset[str], frozenset[str]]:
    """`root_required` (once, from 1.35): plain and `!` traits, no `in:`."""
    if len(values) > 1:
        raise BadRequest(
            "Query parameter 'root_required' may be specified only once.",
            code=CODE_DUPLICATE_KEY,
        )
    groups, forbidden = parse_traits_value(values[0], allow_forbidden=True, allow_any_traits=False)
    required = frozenset(name for group in groups for name in group)
    conflicts = forbidden & required
    if conflicts:
        raise BadRequest(
            "Conflicting required and forbidden traits found in root_required: "
            + ", ".join(sorted(conflicts)),
            code=CODE_BAD_VALUE,
        )
    return required, forbidden


def parse_same_subtree(values: Sequence[str]) -> tuple[frozenset[str], ...]:
    """`same_subtree=_A,_B` (repeatable, from 1.36) -> one suffix set per value."""
    out: list[frozenset[str]] = []
    for value in values:
        suffixes = frozenset(part.strip() for part in value.split(","))
        if "" in suffixes:
            raise BadRequest(
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ",
                code=CODE_BAD_VALUE,
            )
        out.append(suffixes)
    return tuple(out)


# --- GET /allocation_candidates ----------------------------------------------------


def parse_request_wide_params(query: Query, version: Version) -> RequestWideParams:
    """limit, group_policy, root_required, same_subtree.

    The query schema has already checked their form (limit a positive integer,
    group_policy one of none/isolate); the first of repeated values counts.
    """
    limits = values_of(query, "limit")
    policies = values_of(query, "group_policy")
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    roots = values_of(query, "root_required")
    if roots:
        root_required, root_forbidden = parse_root_required(roots)
    return RequestWideParams(
        limit=int(limits[0]) if limits else None,
        group_policy=GroupPolicy(policies[0]) if policies else None,
        root_required=root_required,
        root_forbidden=root_forbidden,
        same_subtrees=parse_same_subtree(values_of(query, "same_subtree")),
    )


@dataclass
class _GroupDraft:
    resources: dict[str, int] = field(default_factory=dict)
    required: tuple[frozenset[str], ...] = ()
    forbidden: frozenset[str] = frozenset()
    member_of: tuple[frozenset[str], ...] = ()
    forbidden_aggs: frozenset[str] = frozenset()
    in_tree: str | None = None

    def freeze(self, suffix: str) -> RequestGroup:
        return RequestGroup(
            suffix=suffix,
            resources=self.resources,
            required_traits=self.required,
            forbidden_traits=self.forbidden,
            member_of=self.member_of,
            forbidden_aggs=self.forbidden_aggs,
            in_tree=self.in_tree,
        )


def _read_groups(query: Query, version: Version) -> dict[str, _GroupDraft]:
    """Group parameters by suffix, validating each value in query-string order."""
    pattern = _KEY_PATTERN_1_33 if version.at_least(VERBOSE_SUFFIX_MINOR) else _KEY_PATTERN
    drafts: dict[str, _GroupDraft] = {}
    for key, value in query:
        match = pattern.match(key)
        if match is None:
            continue
        prefix, suffix = match.group(1), match.group(2) or ""
        draft = drafts.setdefault(suffix, _GroupDraft())
        if prefix == "resources":
            draft.resources = parse_resources(value)
        elif prefix == "required":
            draft.required, draft.forbidden = parse_required(
                values_of(query, "required" + suffix), version
            )
        elif prefix == "member_of":
            draft.member_of, draft.forbidden_aggs = parse_member_of(
                values_of(query, "member_of" + suffix), version, suffix
            )
        else:
            draft.in_tree = parse_in_tree(value)
    return drafts


def _check_same_subtree_groups(
    drafts: dict[str, _GroupDraft], same_subtrees: tuple[frozenset[str], ...]
) -> None:
    """From 1.36, groups without resources are allowed if same_subtree names them."""
    resourceless = [suffix for suffix, draft in drafts.items() if not draft.resources]
    if len(resourceless) == len(drafts):
        raise BadRequest(
            "There must be at least one resources or resources[$S] parameter.",
            code=CODE_MISSING_VALUE,
        )
    named: set[str] = set().union(*same_subtrees)
    bad = [suffix for suffix in resourceless if suffix not in named]
    if bad:
        raise BadRequest(
            "Resourceless suffixed group request should be specified in `same_subtree` "
            f"query param: bad group(s) - {bad}.",
            code=CODE_BAD_VALUE,
        )
    unknown = [suffix for suffix in sorted(named) if suffix not in drafts]
    if unknown:
        raise BadRequest(
            f"Real suffixes should be specified in `same_subtree`: {unknown} not found in "
            f"{list(drafts)}.",
            code=CODE_BAD_VALUE,
        )


def _check_orphans(drafts: dict[str, _GroupDraft]) -> None:
    """Before 1.36 every group needs resources."""
    orphans = [f"required{s}" for s, d in drafts.items() if d.required and not d.resources]
    if orphans:
        raise BadRequest(
            "All traits parameters must be associated with resources.  Found the following "
            "orphaned traits keys: " + ", ".join(orphans)
        )
    orphans = [
        f"member_of{s}"
        for s, d in drafts.items()
        if not d.resources and (d.member_of or d.forbidden_aggs)
    ]
    if orphans:
        raise BadRequest(
            "All member_of parameters must be associated with resources. Found the "
            "following orphaned member_of keys: " + ", ".join(orphans)
        )
    if not all(d.resources for d in drafts.values()):
        raise BadRequest("All request groups must specify resources.")
    if not drafts:
        raise BadRequest("At least one request group (`resources` or `resources{$S}`) is required.")


def _check_conflicting_traits(drafts: dict[str, _GroupDraft]) -> None:
    conflicts = [
        f"required{suffix}: ({', '.join(sorted(any_of))})"
        for suffix, draft in drafts.items()
        for any_of in draft.required
        if any_of <= draft.forbidden
    ]
    if conflicts:
        raise BadRequest(
            "Conflicting required and forbidden traits found in the following traits "
            "keys: " + ", ".join(sorted(conflicts))
        )


def parse_request_groups(
    query: Query, version: Version, params: RequestWideParams
) -> dict[str, RequestGroup]:
    """The request groups keyed by suffix ("" for the unsuffixed one), in order of
    first appearance, after upstream's cross-group checks."""
    drafts = _read_groups(query, version)
    if version.at_least(SAME_SUBTREE_MINOR):
        _check_same_subtree_groups(drafts, params.same_subtrees)
    else:
        _check_orphans(drafts)
    if version.at_least(FORBIDDEN_TRAITS_MINOR):
        _check_conflicting_traits(drafts)
    return {suffix: draft.freeze(suffix) for suffix, draft in drafts.items()}


def parse_candidate_request(query: Query, version: Version) -> CandidateRequest:
    """The whole GET /allocation_candidates query (already schema-checked)."""
    params = parse_request_wide_params(query, version)
    groups = parse_request_groups(query, version, params)
    granular = sum(1 for group in groups.values() if group.use_same_provider)
    if params.group_policy is None and granular > 1:
        raise BadRequest(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.'
        )
    return CandidateRequest(
        groups=groups,
        params=params,
        nested_aware=version.at_least(NESTED_AWARE_MINOR),
    )
