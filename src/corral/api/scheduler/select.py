"""/scheduler/v1/select_destinations and /scheduler/v1/explain: a scheduling
decision, and the same decision as a dry run that says why hosts were ruled out.

A refused body (400) reaches no scheduler code, so it claims nothing. A request
that fits nowhere is a 409 whose error carries the one-line summary in its
detail and the whole Explanation under `explanation`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from corral.api import errors as api_errors
from corral.api.http import Request, Response, accepts, json_response
from corral.api.policies import scheduler as policy
from corral.api.scheduler import select_schemas as schemas
from corral.errors import BadRequest
from corral.scheduler.explain import Explanation
from corral.scheduler.spec import (
    Destination,
    Flavor,
    Image,
    LimitValue,
    NoValidHost,
    NUMALimits,
    RequestSpec,
    Selection,
)

if TYPE_CHECKING:
    from corral.scheduler.engine import Scheduler

NO_VALID_HOST_CODE = "scheduler.no_valid_host"


def scheduler_of(req: Request) -> Scheduler:
    scheduler = req.services.scheduler
    if scheduler is None:
        raise api_errors.ServiceUnavailable("This corral process runs no scheduler engine.")
    return scheduler


def _strings(value: object) -> tuple[str, ...]:
    """A hint value as Nova's RequestSpec holds it: always a list of strings."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _group_uuid(body: Mapping[str, Any], hints: Mapping[str, tuple[str, ...]]) -> str | None:
    named = body.get("instance_group_uuid")
    hinted = hints.get("group", ())
    hint = hinted[0] if hinted else None
    if named is not None and hint is not None and named.lower() != hint.lower():
        raise BadRequest(
            f"instance_group_uuid {named} and the group scheduler hint {hint} name different "
            "server groups."
        )
    return named if named is not None else hint


def _destination(body: Mapping[str, Any] | None) -> Destination | None:
    if body is None:
        return None
    return Destination(
        host=body.get("host"),
        node=body.get("node"),
        aggregates=tuple(body.get("aggregates", ())),
        forbidden_aggregates=frozenset(body.get("forbidden_aggregates", ())),
    )


def request_spec(body: Mapping[str, Any]) -> RequestSpec:
    """corral's RequestSpec from a request_spec the schema has accepted; the
    engine's admission resolves its server group and checks its zone."""
    f = body["flavor"]
    i = body.get("image", {})
    hints = {name: _strings(value) for name, value in body.get("scheduler_hints", {}).items()}
    group = _group_uuid(body, hints)
    if group is not None:
        hints["group"] = (group,)
    return RequestSpec(
        flavor=Flavor(
            vcpus=f["vcpus"],
            memory_mb=f["memory_mb"],
            root_gb=f.get("root_gb", 0),
            ephemeral_gb=f.get("ephemeral_gb", 0),
            swap=f.get("swap", 0),
            name=f.get("name", ""),
            flavorid=f.get("flavorid", ""),
            extra_specs=dict(f.get("extra_specs", {})),
        ),
        image=Image(
            id=i.get("id"),
            name=i.get("name"),
            disk_format=i.get("disk_format"),
            container_format=i.get("container_format"),
            min_ram=i.get("min_ram", 0),
            min_disk=i.get("min_disk", 0),
            size=i.get("size", 0),
            properties=dict(i.get("properties", {})),
        ),
        num_instances=body.get("num_instances", 1),
        project_id=body.get("project_id"),
        user_id=body.get("user_id"),
        availability_zone=body.get("availability_zone"),
        scheduler_hints=hints,
        force_hosts=tuple(body.get("force_hosts", ())),
        force_nodes=tuple(body.get("force_nodes", ())),
        ignore_hosts=tuple(body.get("ignore_hosts", ())),
        requested_destination=_destination(body.get("requested_destination")),
        is_bfv=body.get("is_bfv", False),
    )


def _instance_uuids(body: Mapping[str, Any]) -> list[str]:
    wanted = body["request_spec"].get("num_instances", 1)
    given: list[str] | None = body.get("instance_uuids")
    if given is None:
        return [str(uuid.uuid4()) for _ in range(wanted)]
    if len(given) != wanted:
        raise BadRequest(
            f"instance_uuids has {len(given)} item(s) but request_spec.num_instances is {wanted}."
        )
    return given


def _limits(limits: Mapping[str, LimitValue]) -> dict[str, Any]:
    """Selection.limits as plain JSON: `numa_topology` is Nova's
    NUMATopologyLimits fields (network_metadata only when the request had
    one), the other limits their numbers."""
    out: dict[str, Any] = {}
    for name, value in limits.items():
        if isinstance(value, NUMALimits):
            numa: dict[str, Any] = {
                "cpu_allocation_ratio": value.cpu_allocation_ratio,
                "ram_allocation_ratio": value.ram_allocation_ratio,
            }
            if value.network_metadata is not None:
                numa["network_metadata"] = {
                    "physnets": sorted(value.network_metadata.physnets),
                    "tunneled": value.network_metadata.tunneled,
                }
            out[name] = numa
        else:
            out[name] = value
    return out


def _selection(sel: Selection) -> dict[str, Any]:
    return {
        "service_host": sel.service_host,
        "nodename": sel.nodename,
        "compute_node_uuid": sel.compute_node_uuid,
        "cell_uuid": sel.cell_uuid,
        "allocation_request": (
            sel.allocation_request.to_dict() if sel.allocation_request is not None else None
        ),
        "allocation_request_version": sel.allocation_request_version,
        "limits": _limits(sel.limits),
        "availability_zone": sel.availability_zone,
    }


def _no_valid_host(req: Request, exc: NoValidHost) -> Response:
    body = api_errors.error_body(
        409,
        f"No valid host was found. {exc.explanation}",
        version=req.version,
        request_id=req.request_id,
    )
    error = body["errors"][0]
    # Always coded, whatever the microversion: it is how a client tells this
    # 409 from a claim conflict.
    error["code"] = NO_VALID_HOST_CODE
    detail = exc.detail
    error["explanation"] = detail.to_dict() if isinstance(detail, Explanation) else None
    return json_response(body, 409)


@accepts(body=schemas.SELECT_BODY)
def select_destinations(req: Request) -> Response:
    """Choose, claim and record a host for each instance (alternates after it)."""
    req.authorize(policy.SELECT_DESTINATIONS)
    body = req.json()
    uuids = _instance_uuids(body)
    scheduler = scheduler_of(req)
    spec = request_spec(body["request_spec"])
    try:
        chosen: Sequence[Sequence[Selection]] = scheduler.select_destinations(
            spec, uuids, return_alternates=body.get("return_alternates", True), check_zone=True
        )
    except NoValidHost as exc:
        return _no_valid_host(req, exc)
    return json_response(
        {
            "selections": [[_selection(s) for s in per_instance] for per_instance in chosen],
            "instance_uuids": uuids,
        }
    )


@accepts(body=schemas.EXPLAIN_BODY)
def explain(req: Request) -> Response:
    """The decision's stages and ranking for one instance; claims nothing."""
    req.authorize(policy.EXPLAIN)
    body = req.json()
    scheduler = scheduler_of(req)
    explanation = scheduler.explain(request_spec(body["request_spec"]), check_zone=True)
    answer = explanation.to_dict()
    answer["would_fit"] = explanation.refusal is None and explanation.hosts_available > 0
    return json_response(answer)
