"""Domain errors shared by every layer (the HTTP-only ones are in corral.api.errors).

Each carries the HTTP status and the upstream Placement error code it maps to, so
the API layer turns any of them into the Placement error body without knowing
which layer raised it.
"""

from __future__ import annotations


class CorralError(Exception):
    status = 500
    code = "placement.undefined_code"
    title = "Internal Server Error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class BadRequest(CorralError):
    status = 400
    title = "Bad Request"


class NotFound(CorralError):
    status = 404
    title = "Not Found"


class Conflict(CorralError):
    status = 409
    title = "Conflict"


class ConcurrentUpdate(Conflict):
    """A generation check failed: someone else changed the provider or consumer."""

    code = "placement.concurrent_update"


class DuplicateName(Conflict):
    code = "placement.duplicate_name"


class InventoryInUse(Conflict):
    code = "placement.inventory.inuse"


class ResourceProviderInUse(Conflict):
    code = "placement.resource_provider.inuse"


class CannotDeleteParent(Conflict):
    code = "placement.resource_provider.cannot_delete_parent"
