"""Listing resource providers by name, uuid, tree, traits, aggregates and capacity.

Names in the query are resolved to ids here, with upstream's order of checks:
an unknown `in_tree` provider, or required traits / aggregates nobody has,
give an empty list before a later unknown trait or resource class would give
a 400. The matching itself is one SQL query (`store.provider_filters`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from corral.errors import BadRequest
from corral.placement.candidates import providers as indexed_providers
from corral.placement.index import IndexState, PlacementIndex
from corral.placement.index.view import viewed_state
from corral.store import provider_filters, resource_classes
from corral.store import providers as providers_store
from corral.store import traits as traits_store
from corral.store.database import Database
from corral.store.provider_filters import ProviderFilter
from corral.store.providers import ProviderRow


@dataclass(frozen=True)
class ProviderQuery:
    """The filters of GET /resource_providers, by name, as the request gave them."""

    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    required_traits: Sequence[frozenset[str]] = ()  # each group: any of these
    forbidden_traits: frozenset[str] = frozenset()
    member_of: Sequence[frozenset[str]] = ()  # each group: any of these aggregates
    forbidden_aggregates: frozenset[str] = frozenset()
    resources: dict[str, int] = field(default_factory=dict)


def _trait_ids(conn: Connection, groups: Sequence[frozenset[str]]) -> list[frozenset[int]]:
    wanted = {name for group in groups for name in group}
    ids = traits_store.ids_for_names(conn, wanted)
    for group in groups:
        for name in sorted(group):
            if name not in ids:
                raise BadRequest(
                    f'Invalid trait(s) in "required" parameter: No such trait(s): {name}.'
                )
    return [frozenset(ids[name] for name in group) for group in groups]


def list_providers(
    db: Database, query: ProviderQuery, index: PlacementIndex | None = None
) -> list[ProviderRow]:
    """With `index`, the final matching runs over the in-memory candidate index
    (caught up with the store in the same read transaction) instead of SQL."""
    with contextlib.ExitStack() as stack:
        state: IndexState | None = None
        if index is not None:
            conn, view = stack.enter_context(index.session())
            state = viewed_state(view)
        else:
            conn = stack.enter_context(db.read())
        if query.in_tree is not None and providers_store.get_by_uuid(conn, query.in_tree) is None:
            return []
        required = _trait_ids(conn, query.required_traits)
        later_checks = bool(query.forbidden_traits or query.resources)
        if (
            required
            and later_checks
            and not provider_filters.any_provider_matches(
                conn, ProviderFilter(required_traits=required)
            )
        ):
            return []
        forbidden: frozenset[int] = frozenset()
        if query.forbidden_traits:
            (forbidden,) = _trait_ids(conn, [query.forbidden_traits])
        if (
            query.member_of
            and query.resources
            and not provider_filters.any_provider_matches(
                conn, ProviderFilter(member_of=query.member_of)
            )
        ):
            return []
        rc_ids = resource_classes.ids_for_names(conn, query.resources)
        for rc_name in query.resources:
            if rc_name not in rc_ids:
                raise BadRequest(
                    "Invalid resource class in resources parameter: "
                    f"No such resource class {rc_name}."
                )
        flt = ProviderFilter(
            name=query.name,
            uuid=query.uuid,
            in_tree=query.in_tree,
            required_traits=required,
            forbidden_traits=forbidden,
            member_of=query.member_of,
            forbidden_aggregates=query.forbidden_aggregates,
            resources={rc_ids[n]: amount for n, amount in query.resources.items()},
        )
        if state is not None:
            return indexed_providers.list_providers(conn, state, flt)
        return provider_filters.list_providers(conn, flt)
