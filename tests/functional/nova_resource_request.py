"""The Placement query Nova 34 builds for each case (Nova's Python only).

Run by tests/functional/test_translation_nova.py with the nova 34.0.0
virtualenv's interpreter; never imported by corral or its tests.

    python nova_resource_request.py < CASES_JSON

Each case is {"flavor": {vcpus, memory_mb, root_gb, ephemeral_gb, swap,
extra_specs}, "image": {glance image properties}, "is_bfv": bool}. For each,
a RequestSpec is built as nova-api builds one (RequestSpec.from_components,
ImageMeta.from_dict, so `trait:*` image properties become traits_required),
then the request filters that need no database or Neutron run as
process_reqspec runs them (compute_status_filter, accelerators_filter,
packed_virtqueue_filter, ephemeral_encryption_filter, virtio_sound_filter,
tpm_secret_security_filter), then ResourceRequest.from_request_spec.

Prints one line "RESULT <json>": per case either {"error": "<class>: <text>",
"spec"} or {"groups": {suffix: {resources, required, forbidden}}, "root_required",
"root_forbidden", "cpu_pinning_requested", "querystring", "spec": the
RequestSpec as Nova's RPC client serialises it}.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

warnings.simplefilter("ignore")

import nova.conf  # noqa: E402
from nova import config, objects  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova.objects import base as obj_base  # noqa: E402
from nova.scheduler import request_filter, utils  # noqa: E402
from oslo_serialization import jsonutils  # noqa: E402

# is_admin given, so no policy file is looked for
CONTEXT = nova_context.RequestContext(
    user_id="8f2a1d3c4b5e4f6a8b9c0d1e2f3a4b5c",
    project_id="1e2d3c4b5a6f4e7d8c9b0a1f2e3d4c5b",
    is_admin=False,
)
INSTANCE_UUID = "2b6f0c1e-7d4a-4e59-9f3b-8a1c2d3e4f50"
IMAGE_UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

FILTERS = (
    request_filter.compute_status_filter,
    request_filter.accelerators_filter,
    request_filter.packed_virtqueue_filter,
    request_filter.ephemeral_encryption_filter,
    request_filter.virtio_sound_filter,
    request_filter.tpm_secret_security_filter,
)


def build(case: dict[str, Any]) -> objects.RequestSpec:
    f = case["flavor"]
    flavor = objects.Flavor(
        id=1,
        flavorid="1",
        name="case",
        vcpus=f["vcpus"],
        memory_mb=f["memory_mb"],
        root_gb=f.get("root_gb", 0),
        ephemeral_gb=f.get("ephemeral_gb", 0),
        swap=f.get("swap", 0),
        rxtx_factor=1.0,
        vcpu_weight=None,
        disabled=False,
        is_public=True,
        description=None,
        extra_specs=dict(f.get("extra_specs", {})),
    )
    image = {
        "id": IMAGE_UUID,
        "name": "case",
        "disk_format": "qcow2",
        "properties": dict(case.get("image", {})),
    }
    spec = objects.RequestSpec.from_components(
        CONTEXT,
        INSTANCE_UUID,
        image,
        flavor,
        None,
        objects.InstancePCIRequests(instance_uuid=INSTANCE_UUID, requests=[]),
        {},
        None,
        None,
    )
    spec.is_bfv = bool(case.get("is_bfv", False))
    return spec


def wire(spec: objects.RequestSpec) -> Any:
    serializer = obj_base.NovaObjectSerializer()
    return json.loads(jsonutils.dumps(serializer.serialize_entity(CONTEXT, spec)))


def query(case: dict[str, Any]) -> dict[str, Any]:
    spec = build(case)
    sent = wire(spec)  # what the conductor sends, before the scheduler changes it
    try:
        for request_filter_fn in FILTERS:
            request_filter_fn(CONTEXT, spec)
        res_req = utils.ResourceRequest.from_request_spec(spec)
    except Exception as exc:  # what Nova's scheduler raises is the expected answer
        return {"error": f"{type(exc).__name__}: {exc}", "spec": sent}
    groups = {
        (ident or ""): {
            "resources": dict(group.resources),
            "required": sorted(group.required_traits),
            "forbidden": sorted(group.forbidden_traits),
        }
        for ident, group in res_req._rg_by_id.items()
    }
    return {
        "groups": groups,
        "root_required": sorted(res_req._root_required),
        "root_forbidden": sorted(res_req._root_forbidden),
        "cpu_pinning_requested": res_req.cpu_pinning_requested,
        "querystring": res_req.to_querystring(),
        "spec": sent,
    }


def main() -> None:
    config.parse_args([], default_config_files=[], configure_db=False, init_rpc=False)
    nova.conf.CONF.set_override("max_placement_results", 1000, group="scheduler")
    objects.register_all()
    cases = json.load(sys.stdin)
    print("RESULT " + json.dumps([query(case) for case in cases]))


if __name__ == "__main__":
    main()
