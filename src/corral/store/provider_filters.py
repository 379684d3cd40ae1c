"""GET /resource_providers filtering, as one SQL query.

Every filter is a WHERE clause (mostly EXISTS subqueries), so the database
does the whole job and the result is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, and_, exists, func, literal, select
from sqlalchemy.orm import aliased

from corral.store import tables
from corral.store.providers import ProviderRow, provider_select, to_provider

_rp = tables.resource_providers
_rpt = tables.resource_provider_traits
_rpa = tables.resource_provider_aggregates
_agg = tables.placement_aggregates
_inv = tables.inventories
_alloc = tables.allocations


@dataclass(frozen=True)
class ProviderFilter:
    """Resolved filters; every one given must hold (logical AND).

    `required_traits` and `member_of` are lists of any-of groups: a provider
    needs at least one member of each group.
    """

    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None  # uuid of any provider of the wanted tree
    required_traits: Sequence[frozenset[int]] = ()
    forbidden_traits: frozenset[int] = frozenset()
    member_of: Sequence[frozenset[str]] = ()
    forbidden_aggregates: frozenset[str] = frozenset()
    resources: dict[int, int] = field(default_factory=dict)  # class id -> amount


def _has_any_trait(trait_ids: Iterable[int]) -> ColumnElement[bool]:
    return exists().where(_rpt.c.resource_provider_id == _rp.c.id, _rpt.c.trait_id.in_(trait_ids))


def _in_any_aggregate(agg_uuids: Iterable[str]) -> ColumnElement[bool]:
    return exists(
        select(_rpa.c.aggregate_id)
        .select_from(_rpa.join(_agg, _agg.c.id == _rpa.c.aggregate_id))
        .where(_rpa.c.resource_provider_id == _rp.c.id, _agg.c.uuid.in_(list(agg_uuids)))
    )


def _has_capacity(rc_id: int, amount: int) -> ColumnElement[bool]:
    """Inventory of the class that can take `amount` more, by upstream's rule:
    used + amount <= (total - reserved) * ratio, within min/max unit and step.

    corral.store.capacity's rule spelt in SQL, as upstream's candidate query spells
    it: the product is not truncated here, which decides the same since
    used + amount is a whole number of at least 1."""
    inv = aliased(_inv, name="inv")
    used = (
        select(func.coalesce(func.sum(_alloc.c.used), 0))
        .where(
            _alloc.c.resource_provider_id == inv.c.resource_provider_id,
            _alloc.c.resource_class_id == rc_id,
        )
        .scalar_subquery()
    )
    return exists().where(
        inv.c.resource_provider_id == _rp.c.id,
        inv.c.resource_class_id == rc_id,
        used + amount <= (inv.c.total - inv.c.reserved) * inv.c.allocation_ratio,
        inv.c.min_unit <= amount,
        inv.c.max_unit >= amount,
        literal(amount) % inv.c.step_size == 0,
    )


def _conditions(flt: ProviderFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.name is not None:
        conds.append(_rp.c.name == flt.name)
    if flt.uuid is not None:
        conds.append(_rp.c.uuid == flt.uuid)
    if flt.in_tree is not None:
        tree = aliased(_rp, name="tree")
        conds.append(
            _rp.c.root_provider_id.in_(
                select(tree.c.root_provider_id).where(tree.c.uuid == flt.in_tree)
            )
        )
    conds.extend(_has_any_trait(group) for group in flt.required_traits)
    if flt.forbidden_traits:
        conds.append(~_has_any_trait(flt.forbidden_traits))
    conds.extend(_in_any_aggregate(group) for group in flt.member_of)
    if flt.forbidden_aggregates:
        conds.append(~_in_any_aggregate(flt.forbidden_aggregates))
    conds.extend(_has_capacity(rc_id, amount) for rc_id, amount in flt.resources.items())
    return conds


def list_providers(conn: Connection, flt: ProviderFilter) -> list[ProviderRow]:
    """The providers matching every filter, oldest first."""
    query = provider_select().where(and_(True, *_conditions(flt))).order_by(_rp.c.id)
    return [to_provider(r) for r in conn.execute(query)]


def any_provider_matches(conn: Connection, flt: ProviderFilter) -> bool:
    query = select(_rp.c.id).where(and_(True, *_conditions(flt))).limit(1)
    return conn.execute(query).first() is not None
