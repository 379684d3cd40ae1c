"""GET /allocation_candidates (microversion 1.10+)."""

from __future__ import annotations

from typing import Any

import orjson

from corral.api.http import Request, Response, accepts, json_response, validate_query, versioned
from corral.api.placement.query_params import parse_candidate_request
from corral.api.placement.schemas import allocation_candidate as schema
from corral.errors import CorralError
from corral.placement.candidates import CandidateResult, SearchSettings, search
from corral.placement.candidates.result import SingleProviderGroups

LIST = "placement:allocation_candidates:list"

# Response shape changes.
DICT_ALLOCATIONS_MINOR = 12  # allocations keyed by provider uuid
TRAITS_MINOR = 17  # provider summaries carry traits
ALL_RESOURCES_MINOR = 27  # summaries show every class, not only the requested ones
NESTED_MINOR = 29  # summaries carry parent and root uuids
MAPPINGS_MINOR = 34  # allocation requests carry group -> providers mappings


@versioned(10)
@accepts(query=schema.get_schema)
def list_allocation_candidates(req: Request) -> Response:
    req.require_accept_json()
    req.authorize(LIST)
    validate_query(req)
    request = parse_candidate_request(req.query, req.version)
    placement = req.services.placement
    settings = SearchSettings(
        randomize=placement.randomize_allocation_candidates,
        max_candidates=placement.max_allocation_candidates,
    )
    index = req.services.index
    if index is None:
        raise CorralError("The allocation candidate index is not running.")
    result = search(index, request, settings)
    # No stored timestamp describes a computed answer: last-modified is now.
    return json_response(render(result, req.version.minor), version=req.version)


def render(result: CandidateResult, minor: int) -> dict[str, Any]:
    return {
        "allocation_requests": _allocation_requests(result, minor),
        "provider_summaries": _provider_summaries(result, minor),
    }


def _allocation_requests(result: CandidateResult, minor: int) -> list[dict[str, Any]]:
    # This runs for every candidate, so it is written out plainly.
    if minor < DICT_ALLOCATIONS_MINOR:
        return [
            {
                "allocations": [
                    {"resource_provider": {"uuid": uuid}, "resources": resources}
                    for uuid, resources in cand.allocations.items()
                ]
            }
            for cand in result.candidates
        ]
    out: list[dict[str, Any]] = []
    with_mappings = minor >= MAPPINGS_MINOR
    single = result.single
    if single is not None and result.general is None:
        return _single_provider_requests(single, with_mappings)
    for allocations, mappings in result.candidates:
        if len(allocations) == 1:
            ((uuid, resources),) = allocations.items()
            shown: dict[str, Any] = {uuid: {"resources": resources}}
        else:
            shown = {uuid: {"resources": res} for uuid, res in allocations.items()}
        if with_mappings:
            out.append({"allocations": shown, "mappings": mappings})
        else:
            out.append({"allocations": shown})
    return out


def _single_provider_requests(
    single: SingleProviderGroups, with_mappings: bool
) -> list[dict[str, Any]]:
    """Bodies straight from the compact form (the common case, kept lean)."""
    out: list[dict[str, Any]] = []
    # One {"resources": ...} per distinct amounts, shared by all candidates.
    wrapped = [[(g, {"resources": res}) for g, res in layout] for layout in single.layouts]
    providers, suffixes = single.providers, single.suffixes
    if len(suffixes) == 1 and len(wrapped[0]) == 1:
        (names,), (suffix,), ((_, body),) = providers, suffixes, wrapped[0]
        if with_mappings:
            return [{"allocations": {u: body}, "mappings": {suffix: [u]}} for u in names]
        return [{"allocations": {u: body}} for u in names]
    for row, pattern in enumerate(single.pattern):
        allocations = {}
        for g, body in wrapped[pattern]:
            allocations[providers[g][row]] = body
        if with_mappings:
            mappings = {}
            for g, suffix in enumerate(suffixes):
                mappings[suffix] = [providers[g][row]]
            out.append({"allocations": allocations, "mappings": mappings})
        else:
            out.append({"allocations": allocations})
    return out


def _provider_summaries(result: CandidateResult, minor: int) -> dict[str, Any]:
    """Summaries keyed by provider uuid. Each provider's entry is encoded once
    per shape and kept on its summary (the index hands out a new summary
    object when the provider changes)."""
    with_traits = minor >= TRAITS_MINOR
    all_resources = minor >= ALL_RESOURCES_MINOR
    nested = minor >= NESTED_MINOR
    requested = None if all_resources else result.requested_classes
    shape = (with_traits, nested, requested)
    out: dict[str, Any] = {}
    for summary in result.summaries:
        memo = summary.encoded
        if memo is not None and memo[0] == shape:
            encoded = memo[1]
        else:
            entry: dict[str, Any] = {
                "resources": {
                    name: {"capacity": capacity, "used": used}
                    for name, capacity, used in summary.resources
                    if requested is None or name in requested
                }
            }
            if with_traits:
                entry["traits"] = list(summary.traits)
            if nested:
                entry["parent_provider_uuid"] = summary.parent_uuid
                entry["root_provider_uuid"] = summary.root_uuid
            # orjson's result keeps its 4 KiB working buffer behind a short
            # string; a copy of exactly the JSON is what is worth keeping.
            encoded = orjson.Fragment(memoryview(orjson.dumps(entry)).tobytes())
            summary.encoded = (shape, encoded)
        out[summary.uuid] = encoded
    return out
