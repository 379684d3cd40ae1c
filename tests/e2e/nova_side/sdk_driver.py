"""An operator's openstacksdk session, driven one JSON line at a time.

Runs in the Nova virtualenv (openstacksdk is not one of corral's
dependencies). Each input line is {"call": "compute.create_server",
"args": [...], "kwargs": {...}}; each output line is {"ok": result} or
{"error": "...", "type": "..."}. Resources come back as dicts, generators as
lists. Usage: python sdk_driver.py NOVA_URL TOKEN
"""

import json
import sys
import traceback
from typing import Any

import openstack
from openstack import resource


def plain(value: Any) -> Any:
    if isinstance(value, resource.Resource):
        return value.to_dict(computed=False)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or hasattr(value, "__next__"):
        return [plain(v) for v in value]
    return value


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    conn = openstack.connection.Connection(
        auth_type="admin_token",
        auth={"endpoint": url, "token": token},
        compute_api_version="2.95",
    )
    for line in sys.stdin:
        request = json.loads(line)
        try:
            target: Any = conn
            for part in request["call"].split("."):
                target = getattr(target, part)
            result = plain(target(*request.get("args", []), **request.get("kwargs", {})))
            out = {"ok": result}
        except Exception as exc:  # reported to the test, which decides
            out = {"error": str(exc), "type": type(exc).__name__, "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(out, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
