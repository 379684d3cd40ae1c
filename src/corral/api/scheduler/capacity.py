"""/scheduler/v1/capacity: how many more instances of one shape fit, and where.

The shape is GET /allocation_candidates' query (`resources`, `required`,
`member_of`, `in_tree`, any suffix, `group_policy`, `root_required`,
`same_subtree`), parsed by Placement's own parsers at the newest
microversion; `smallest` is a `resources` value. The count is
corral.scheduler.capacity's. Admin only by default; claims nothing.
"""

from __future__ import annotations

from corral.api import microversion
from corral.api.http import Request, Response, accepts, json_response, validate_query
from corral.api.placement.query_params import parse_candidate_request, parse_resources
from corral.api.policies import scheduler as policy
from corral.api.scheduler import schemas
from corral.api.scheduler.select import scheduler_of
from corral.errors import BadRequest
from corral.placement.request import CandidateRequest, RequestGroup
from corral.scheduler.capacity import CapacityQuery

# What the query says beyond the shape.
_SCOPE_KEYS = ("availability_zone", "aggregate", "project", "smallest")
# Keys Placement reads once: a second value is refused rather than ignored.
_ONCE = ("group_policy", "root_required", *_SCOPE_KEYS)


def capacity_query(req: Request) -> CapacityQuery:
    """The query as a CapacityQuery; BadRequest in Placement's words for a bad shape."""
    validate_query(req)
    seen: set[str] = set()
    for key, _ in req.query:
        if key in _ONCE and key in seen:
            raise BadRequest(f"Invalid query string parameters: {key!r} is given more than once")
        seen.add(key)
    params = dict(req.query)
    shape_query = [(k, v) for k, v in req.query if k not in _SCOPE_KEYS]
    if not any(k.startswith("resources") for k, _ in shape_query):
        raise BadRequest(
            "Invalid query string parameters: a shape needs `resources` (or `resourcesN`), "
            "as GET /allocation_candidates takes it, e.g. resources=VCPU:2,MEMORY_MB:4096."
        )
    shape = parse_candidate_request(shape_query, microversion.MAX)
    smallest = None
    if "smallest" in params:
        smallest = CandidateRequest(
            {"": RequestGroup(resources=parse_resources(params["smallest"]))}
        )
    return CapacityQuery(
        shape=shape,
        smallest=smallest,
        availability_zone=params.get("availability_zone"),
        aggregate=params.get("aggregate"),
        project_id=params.get("project"),
    )


@accepts(query=schemas.CAPACITY_QUERY)
def get_capacity(req: Request) -> Response:
    """How many more instances of the shape fit: in all, per zone, aggregate
    and host, and the capacity stranded where not even the smallest fits."""
    req.authorize(policy.CAPACITY)
    query = capacity_query(req)
    return json_response(scheduler_of(req).capacity(query).to_dict())
