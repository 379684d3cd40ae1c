"""Resource classes: the standard ones (os-resource-classes) and CUSTOM_* ones.

Standard classes can be neither renamed nor deleted; a class that some
inventory uses cannot be deleted. Messages are upstream's.
"""

from __future__ import annotations

import os_resource_classes
from sqlalchemy.exc import IntegrityError

from corral.errors import BadRequest, Conflict, NotFound
from corral.store import resource_classes as store
from corral.store.database import Database, record_changes, utcnow
from corral.store.resource_classes import ResourceClassRow

# Custom ids are taken as max(id) + 1, so two writers may pick the same one;
# the loser tries again with the next.
CREATE_ATTEMPTS = 10


def not_found(name: str) -> NotFound:
    return NotFound(f"No such resource class {name}.")


def list_classes(db: Database) -> list[ResourceClassRow]:
    with db.read() as conn:
        return store.list_all(conn)


def get_class(db: Database, name: str) -> ResourceClassRow:
    with db.read() as conn:
        row = store.get_by_name(conn, name)
    if row is None:
        raise not_found(name)
    return row


def create_class(db: Database, name: str) -> ResourceClassRow:
    """A new CUSTOM_* class; Conflict when the name exists."""
    exists = Conflict(f"Conflicting resource class already exists: {name}")
    if name in os_resource_classes.STANDARDS:
        raise exists
    for _ in range(CREATE_ATTEMPTS):
        try:
            with db.write() as conn:
                if store.get_by_name(conn, name) is not None:
                    raise exists
                return store.create(conn, name, utcnow())
        except IntegrityError:
            continue  # an id race (the name was checked inside the transaction)
    raise Conflict(
        "Max retries of DB transaction exceeded attempting to create resource class: "
        f"{name}, please try again."
    )


def ensure_class(db: Database, name: str) -> tuple[ResourceClassRow, bool]:
    """PUT /resource_classes/{name} from 1.7: (the class, whether it was created)."""
    with db.read() as conn:
        row = store.get_by_name(conn, name)
    if row is not None:
        return row, False
    try:
        return create_class(db, name), True
    except Conflict:
        # Someone created it just now: it exists, which is all the caller asked.
        return get_class(db, name), False


def rename_class(db: Database, name: str, new_name: str) -> ResourceClassRow:
    """PUT /resource_classes/{name} before 1.7; renaming to the same name is a no-op."""
    with db.write() as conn:
        row = store.get_by_name(conn, name)
        if row is None:
            raise not_found(name)
        if name in os_resource_classes.STANDARDS:
            raise BadRequest(f"Cannot update standard resource class {name}")
        if new_name == name:
            return row
        if store.get_by_name(conn, new_name) is not None:
            raise Conflict(f"Resource class already exists: {new_name}")
        now = utcnow()
        store.rename(conn, row.id, new_name, now)
        # The candidates index shows classes by name: the providers holding
        # this one reload their inventory and so learn the new name. Their
        # generations stay, as upstream's do.
        record_changes(conn, store.providers_with_inventory(conn, row.id), "inventory")
    return ResourceClassRow(row.id, new_name, row.created_at, now)


def delete_class(db: Database, name: str) -> None:
    with db.write() as conn:
        row = store.get_by_name(conn, name)
        if row is None:
            raise not_found(name)
        if name in os_resource_classes.STANDARDS:
            raise BadRequest(
                f"Error in delete resource class: Cannot delete standard resource class {name}."
            )
        if store.in_inventory(conn, row.id):
            raise Conflict(
                f"Error in delete resource class: Cannot delete resource class {name}. "
                "Class is in use in inventory."
            )
        store.delete(conn, row.id)
