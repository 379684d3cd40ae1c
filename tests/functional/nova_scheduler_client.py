"""Calls corral the way nova-conductor does, with Nova's own code (Nova's Python only).

Run by tests/functional/test_rpc_nova.py with the nova 34.0.0 virtualenv's
interpreter; never imported by corral or its tests.

    python nova_scheduler_client.py TRANSPORT_URL TOPIC SCENARIO_JSON

Scenarios ("kind"):
  select   build a RequestSpec from Nova objects and call
           nova.scheduler.rpcapi.SchedulerAPI().select_destinations
  raw      send each message as given (method, version, args), through the
           same SchedulerAPI client, and report what came back

Prints one line "RESULT <json>".
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
import warnings
from typing import Any

warnings.simplefilter("ignore")

import nova.conf  # noqa: E402
import oslo_messaging as messaging  # noqa: E402
from nova import config, exception, objects, rpc  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova.scheduler import rpcapi  # noqa: E402
from nova.virt import hardware  # noqa: E402
from oslo_serialization import jsonutils  # noqa: E402

CONF = nova.conf.CONF


def setup(transport_url: str, topic: str) -> rpcapi.SchedulerAPI:
    # A nova.conf as a conductor has one; short timeouts so a test cannot hang.
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as conf_file:
        conf_file.write(
            f"[DEFAULT]\ntransport_url = {transport_url}\n"
            "rpc_response_timeout = 20\nlong_rpc_timeout = 60\n"
        )
    config.parse_args(
        ["nova-conductor"],
        default_config_files=[conf_file.name],
        configure_db=False,
        init_rpc=False,
    )
    os.unlink(conf_file.name)
    rpc.init(CONF)
    objects.register_all()
    # Nova's scheduler topic is a module constant; a test uses its own.
    rpcapi.RPC_TOPIC = topic
    return rpcapi.SchedulerAPI()


def context() -> nova_context.RequestContext:
    return nova_context.RequestContext(
        user_id="5f1b5d1ad3a54bd3b4b5c54e03f2fc2e",
        project_id="6a0b3c1a8e3b4a6e9a9f6b4c3d2e1f00",
        is_admin=True,
    )


def request_spec(ctxt: Any, scenario: dict[str, Any]) -> objects.RequestSpec:
    flavor = objects.Flavor(
        id=1,
        flavorid="corral-test",
        name="corral-test",
        vcpus=scenario["vcpus"],
        memory_mb=scenario["memory_mb"],
        root_gb=scenario.get("root_gb", 0),
        ephemeral_gb=0,
        swap=0,
        rxtx_factor=1.0,
        vcpu_weight=None,
        disabled=False,
        is_public=True,
        description=None,
        extra_specs=scenario.get("extra_specs", {}),
    )
    image = {"id": str(uuid.uuid4()), "name": "cirros", "disk_format": "qcow2", "properties": {}}
    # As Nova's compute API does: the guest NUMA topology from the flavor's hw:* specs.
    numa_topology = hardware.numa_get_constraints(flavor, objects.ImageMeta.from_dict(image))
    spec = objects.RequestSpec.from_components(
        ctxt,
        scenario["instance_uuids"][0],
        image,
        flavor,
        numa_topology,
        objects.InstancePCIRequests(instance_uuid=scenario["instance_uuids"][0], requests=[]),
        {"scheduler_hints": scenario.get("hints", {})},
        None,
        scenario.get("availability_zone"),
    )
    spec.num_instances = len(scenario["instance_uuids"])
    spec.is_bfv = False
    return spec


def describe_error(exc: BaseException) -> dict[str, Any]:
    return {
        "error": type(exc).__name__,
        "is_no_valid_host": isinstance(exc, exception.NoValidHost),
        "is_remote_error": isinstance(exc, messaging.RemoteError),
        "message": str(exc).splitlines()[0][:2000] if str(exc) else "",
        "kwargs": getattr(exc, "kwargs", None),
    }


def describe_selection(sel: Any) -> dict[str, Any]:
    if not isinstance(sel, objects.Selection):
        return {"type": type(sel).__name__, "value": jsonutils.to_primitive(sel)}
    return {
        "type": "Selection",
        "service_host": sel.service_host,
        "nodename": sel.nodename,
        "compute_node_uuid": sel.compute_node_uuid,
        "cell_uuid": sel.cell_uuid,
        "allocation_request": jsonutils.loads(sel.allocation_request)
        if sel.allocation_request
        else None,
        "allocation_request_version": sel.allocation_request_version,
        "availability_zone": sel.availability_zone,
        "limits": describe_limits(sel.limits),
    }


def describe_limits(limits: Any) -> dict[str, Any] | None:
    """SchedulerLimits.to_dict(), with a NUMATopologyLimits described by its
    class and fields (what the compute's NUMA claim reads)."""
    if limits is None:
        return None
    out = limits.to_dict()
    numa = out.get("numa_topology")
    if numa is not None:
        out["numa_topology"] = {
            "type": type(numa).__name__,
            "version": numa.VERSION,
            "cpu_allocation_ratio": numa.cpu_allocation_ratio,
            "ram_allocation_ratio": numa.ram_allocation_ratio,
            "has_network_metadata": "network_metadata" in numa,
        }
    return dict(out)


def select(api: rpcapi.SchedulerAPI, scenario: dict[str, Any]) -> dict[str, Any]:
    ctxt = context()
    spec = request_spec(ctxt, scenario)
    try:
        result = api.select_destinations(
            ctxt,
            spec,
            scenario["instance_uuids"],
            return_objects=scenario.get("return_objects", True),
            return_alternates=scenario.get("return_alternates", True),
        )
    except Exception as exc:
        return describe_error(exc)
    if scenario.get("return_objects", True):
        return {"selections": [[describe_selection(s) for s in per] for per in result]}
    return {"legacy": result}


def raw(api: rpcapi.SchedulerAPI, scenario: dict[str, Any]) -> dict[str, Any]:
    ctxt = context()
    outcomes = []
    for message in scenario["messages"]:
        cctxt = api.client.prepare(version=message["version"], fanout=message.get("fanout", False))
        try:
            if message.get("cast"):
                cctxt.cast(ctxt, message["method"], **message["args"])
                outcomes.append({"sent": True})
            else:
                outcomes.append({"ok": cctxt.call(ctxt, message["method"], **message["args"])})
        except Exception as exc:
            outcomes.append(describe_error(exc))
    return {"outcomes": outcomes}


def main() -> None:
    # The scenario comes on stdin: a hostile one is larger than one argument may be.
    transport_url, topic = sys.argv[1:3]
    scenario_json = sys.stdin.read()
    scenario = json.loads(scenario_json)
    api = setup(transport_url, topic)
    handlers = {"select": select, "raw": raw}
    result = handlers[scenario["kind"]](api, scenario)
    print("RESULT " + json.dumps(jsonutils.to_primitive(result)), flush=True)
    rpc.cleanup()


if __name__ == "__main__":
    main()
