"""The RPC server's oslo.messaging stack patches nothing and runs on threads.

oslo.messaging imports oslo.service, whose default backend imports eventlet;
importing is all it does. A fresh interpreter records the standard library,
builds corral's RPC server objects as an RPC worker does (the broker is not
contacted before start), and checks that nothing was replaced and that the
executor is the threading one.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, os, queue, select, socket, ssl, subprocess, threading, time
WATCHED = {"socket": socket, "threading": threading, "time": time, "select": select,
           "ssl": ssl, "os": os, "queue": queue, "subprocess": subprocess}
before = {n: {a: id(getattr(m, a)) for a in dir(m)} for n, m in WATCHED.items()}

from corral.rpc import server
from corral.rpc.endpoint import API_VERSION, SchedulerEndpoint

messaging = server._messaging()
from oslo_config import cfg
transport = messaging.get_rpc_transport(cfg.CONF, url="rabbit://guest:guest@127.0.0.1:5672/")
endpoint = SchedulerEndpoint(scheduler=None, db=None, max_message_bytes=65536,
                             target=messaging.Target(version=API_VERSION))
rpc = messaging.get_rpc_server(transport, messaging.Target(exchange="nova", topic="t", server="h"),
                               [endpoint], executor="threading",
                               serializer=messaging.NoOpSerializer())
changed = [f"{n}.{a}" for n, m in WATCHED.items() for a, i in before[n].items()
           if id(getattr(m, a, None)) != i]
import eventlet.patcher
patched = [m for m in ("os", "select", "socket", "thread", "time", "psycopg", "MySQLdb")
           if eventlet.patcher.is_monkey_patched(m)]
print("REPORT " + json.dumps({"changed": changed, "patched": patched,
                              "executor": rpc.executor_type,
                              "pool_class": rpc._executor_cls.__name__}))
"""


def test_rpc_stack_patches_nothing_and_uses_threads() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("REPORT "))
    report = json.loads(line.removeprefix("REPORT "))
    assert report["changed"] == []
    assert report["patched"] == []
    assert report["executor"] == "threading"
    assert report["pool_class"] == "ThreadPoolExecutor"
