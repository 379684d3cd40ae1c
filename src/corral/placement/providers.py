"""Resource providers: creation, renaming and moving within trees, deletion.

The rules and error texts are upstream Placement's: a provider cannot be its
own parent, a move may not create a loop, moving an already parented provider
(re-parenting, un-parenting) needs microversion 1.37, and a provider with
children or allocations cannot be deleted.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from corral.errors import (
    BadRequest,
    CannotDeleteParent,
    DuplicateName,
    NotFound,
    ResourceProviderInUse,
)
from corral.store import providers as store
from corral.store.database import Database, record_changes, utcnow
from corral.store.providers import ProviderRow


def not_found(uuid: str) -> NotFound:
    return NotFound(f"No resource provider with uuid {uuid} found")


def get_provider(db: Database, uuid: str) -> ProviderRow:
    with db.read() as conn:
        return require(conn, uuid)


def require(conn: Connection, uuid: str) -> ProviderRow:
    """The provider with this uuid, or the upstream 404."""
    provider = store.get_by_uuid(conn, uuid)
    if provider is None:
        raise not_found(uuid)
    return provider


def _create_error(name: str, uuid: str, reason: str) -> BadRequest:
    return BadRequest(
        f'Unable to create resource provider "{name}", {uuid}: '
        f"Object action create failed because: {reason}"
    )


def _duplicate(uuid: str, name: str, fields: list[str]) -> DuplicateName:
    values = {"uuid": uuid, "name": name}
    which = ", ".join(f"{f}: {values[f]}" for f in fields) or f"uuid: {uuid}, name: {name}"
    return DuplicateName(f"Conflicting resource provider {which} already exists.")


def create_provider(
    db: Database, *, name: str, uuid: str | None, parent_uuid: str | None
) -> ProviderRow:
    """Create a provider; a uuid without dashes is stored in the dashed form."""
    # Normalised as upstream does, so the dashless form of a taken uuid conflicts.
    rp_uuid = str(uuidlib.UUID(uuid)) if uuid else str(uuidlib.uuid4())
    if not name:
        raise _create_error(name, rp_uuid, "name is required")
    if parent_uuid is not None and parent_uuid == rp_uuid:
        raise _create_error(
            name,
            rp_uuid,
            "parent provider UUID cannot be same as UUID. "
            "Please set parent provider UUID to None if there is no parent.",
        )
    try:
        with db.write() as conn:
            parent_id: int | None = None
            root_id: int | None = None
            if parent_uuid is not None:
                store.lock_trees(conn)
                parent = store.get_by_uuid(conn, parent_uuid)
                if parent is None:
                    raise _create_error(name, rp_uuid, "parent provider UUID does not exist.")
                parent_id, root_id = parent.id, parent.root_provider_id
            conflicts = store.conflicting_fields(conn, rp_uuid, name)
            if conflicts:
                raise _duplicate(rp_uuid, name, conflicts)
            new_id = store.insert(
                conn, uuid=rp_uuid, name=name, parent_id=parent_id, root_id=root_id, now=utcnow()
            )
            record_changes(conn, [new_id], "provider")
            created = store.get_by_ids(conn, [new_id])[new_id]
    except IntegrityError:
        # Lost a race on PostgreSQL: someone took the uuid or name, or deleted
        # the parent, between our checks and the insert.
        with db.read() as conn:
            conflicts = store.conflicting_fields(conn, rp_uuid, name)
        if conflicts:
            raise _duplicate(rp_uuid, name, conflicts) from None
        raise _create_error(name, rp_uuid, "parent provider UUID does not exist.") from None
    return created


@dataclass(frozen=True)
class ProviderUpdate:
    """A PUT body: the new name and, when the key was sent, the new parent."""

    name: str
    sets_parent: bool = False
    parent_uuid: str | None = None


def _save_error(uuid: str, action: str, reason: str) -> BadRequest:
    return BadRequest(
        f"Unable to save resource provider {uuid}: Object action {action} failed because: {reason}"
    )


def update_provider(
    db: Database, uuid: str, change: ProviderUpdate, *, allow_reparenting: bool
) -> ProviderRow:
    """Rename and/or move a provider; moving carries its whole subtree along."""
    try:
        with db.write() as conn:
            if change.sets_parent:
                store.lock_trees(conn)
            provider = require(conn, uuid)
            now = utcnow()
            parent_id = provider.parent_provider_id
            root_id = provider.root_provider_id
            moved: set[int] = set()
            if change.sets_parent:
                parent_id, root_id, moved = _plan_move(
                    conn, provider, change.parent_uuid, allow_reparenting
                )
            if store.name_taken(conn, change.name, exclude_id=provider.id):
                raise DuplicateName(f"Conflicting resource provider {change.name} already exists.")
            store.update(
                conn, provider.id, name=change.name, parent_id=parent_id, root_id=root_id, now=now
            )
            store.set_root(conn, moved - {provider.id}, root_id, now)
            record_changes(conn, moved | {provider.id}, "provider")
            return store.get_by_ids(conn, [provider.id])[provider.id]
    except IntegrityError:
        # The new parent was deleted under us (PostgreSQL), or the name was
        # taken by a concurrent writer.
        with db.read() as conn:
            current = store.get_by_uuid(conn, uuid)
            own_id = current.id if current is not None else -1
            if store.name_taken(conn, change.name, exclude_id=own_id):
                raise DuplicateName(
                    f"Conflicting resource provider {change.name} already exists."
                ) from None
        raise _save_error(uuid, "update", "parent provider UUID does not exist.") from None


def _plan_move(
    conn: Connection, provider: ProviderRow, parent_uuid: str | None, allow_reparenting: bool
) -> tuple[int | None, int, set[int]]:
    """(new parent id, new root id, ids whose root changes) for a parent change."""
    if parent_uuid is None:
        if provider.parent_provider_id is None:
            return None, provider.root_provider_id, set()
        if not allow_reparenting:
            raise _save_error(
                provider.uuid, "update", "un-parenting a provider is not currently allowed."
            )
        return None, provider.id, store.subtree_ids(conn, provider)
    parent = store.get_by_uuid(conn, parent_uuid)
    if parent is None:
        # Upstream names the action "create" here too.
        raise _save_error(provider.uuid, "create", "parent provider UUID does not exist.")
    if (
        provider.parent_provider_id is not None
        and provider.parent_provider_id != parent.id
        and not allow_reparenting
    ):
        raise _save_error(
            provider.uuid, "update", "re-parenting a provider is not currently allowed."
        )
    subtree = store.subtree_ids(conn, provider)
    if parent.id in subtree:
        raise _save_error(
            provider.uuid, "update", "creating loop in the provider tree is not allowed."
        )
    return parent.id, parent.root_provider_id, subtree


def delete_provider(db: Database, uuid: str) -> None:
    """Delete a provider with its inventories, traits and aggregate links."""
    try:
        with db.write() as conn:
            provider = store.get_by_uuid(conn, uuid)
            if provider is None:
                raise NotFound(f"No resource provider with uuid {uuid} found for delete")
            _check_deletable(conn, provider)
            record_changes(conn, [provider.id], "deleted")
            if not store.delete(conn, provider.id):
                raise NotFound(f"No resource provider with uuid {uuid} found for delete")
    except IntegrityError:
        # A child or an allocation appeared concurrently (PostgreSQL).
        with db.read() as conn:
            provider = store.get_by_uuid(conn, uuid)
            if provider is not None:
                _check_deletable(conn, provider)
        raise _in_use(uuid) from None


def _in_use(uuid: str) -> ResourceProviderInUse:
    return ResourceProviderInUse(
        f"Unable to delete resource provider {uuid}: Resource provider has allocations."
    )


def _check_deletable(conn: Connection, provider: ProviderRow) -> None:
    if store.has_children(conn, provider.id):
        raise CannotDeleteParent(
            f"Unable to delete parent resource provider {provider.uuid}: "
            "It has child resource providers."
        )
    if store.has_allocations(conn, provider.id):
        raise _in_use(provider.uuid)
