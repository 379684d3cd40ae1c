"""The query string of GET /resource_providers, turned into a ProviderQuery.

The values of member_of, required and resources are parsed by the parsers
shared with GET /allocation_candidates, in upstream's order (member_of,
then required, then resources), so the first bad value reported is the same.
The query schema has already run.
"""

from __future__ import annotations

from corral.api.http import Request
from corral.api.placement import query_params
from corral.placement.provider_list import ProviderQuery


def _last(req: Request, key: str) -> str | None:
    """A single-valued parameter: the last value wins, as with upstream's WebOb."""
    values = req.query_values(key)
    return values[-1] if values else None


def parse_provider_query(req: Request) -> ProviderQuery:
    member_of: tuple[frozenset[str], ...] = ()
    forbidden_aggs: frozenset[str] = frozenset()
    if req.query_values("member_of"):
        member_of, forbidden_aggs = query_params.parse_member_of(
            req.query_values("member_of"), req.version
        )
    required: tuple[frozenset[str], ...] = ()
    forbidden_traits: frozenset[str] = frozenset()
    if req.query_values("required"):
        required, forbidden_traits = query_params.parse_required(
            req.query_values("required"), req.version
        )
    resources_value = _last(req, "resources")
    resources = query_params.parse_resources(resources_value) if resources_value is not None else {}
    return ProviderQuery(
        # Upstream skips empty name, uuid and in_tree values.
        name=_last(req, "name") or None,
        uuid=_last(req, "uuid") or None,
        in_tree=_last(req, "in_tree") or None,
        required_traits=required,
        forbidden_traits=forbidden_traits,
        member_of=member_of,
        forbidden_aggregates=forbidden_aggs,
        resources=resources,
    )
