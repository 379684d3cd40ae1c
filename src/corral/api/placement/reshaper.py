"""POST /reshaper (microversion 1.30+)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from corral.api.http import Request, Response, accepts, empty_response, versioned
from corral.api.placement.allocations import check_total, consumer_write, write_settings
from corral.api.placement.inventories import inventory_from_body
from corral.api.placement.schemas import reshaper as schema
from corral.errors import BadRequest, ConcurrentUpdate, Conflict, InventoryInUse, NotFound
from corral.placement import reshaper
from corral.placement.allocations import InvalidInventory, ProviderConflict
from corral.placement.consumers import ConsumerConflict
from corral.placement.reshaper import ProviderInventory, ReshapeConflict

RESHAPE = "placement:reshaper:reshape"


@contextmanager
def _reshape_errors() -> Iterator[None]:
    """Upstream's wording for a reshape that failed once it began writing."""
    try:
        yield
    except (ReshapeConflict, ProviderConflict, ConsumerConflict) as exc:
        raise ConcurrentUpdate(f"update conflict: {exc.detail}") from None
    except NotFound as exc:
        # A resource class that does not exist.
        raise BadRequest(f"malformed reshaper data: {exc.detail}") from None
    except InventoryInUse as exc:
        raise InventoryInUse(f"update conflict: {exc.detail}") from None
    except InvalidInventory as exc:
        raise Conflict(f"Unable to allocate inventory: {exc.detail}") from None


@versioned(30)
@accepts(body=schema.post_schema)
def reshape(req: Request) -> Response:
    req.require_json_content()
    req.authorize(RESHAPE)
    data = req.json()
    inventories = {
        rp: ProviderInventory(
            part["resource_provider_generation"],
            {rc: inventory_from_body(fields) for rc, fields in part["inventories"].items()},
        )
        for rp, part in data["inventories"].items()
    }
    writes = [consumer_write(req, c, part) for c, part in data["allocations"].items()]
    check_total(writes)
    with _reshape_errors():
        reshaper.reshape(req.services.db, inventories, writes, write_settings(req))
    return empty_response(204)
