"""Nothing in corral (or what it imports) replaces standard library objects.

A fresh interpreter records every public attribute of socket, threading,
time, select, ssl and os, imports every corral module, then runs a real API
worker (the function `corral serve` runs in each worker process) on a
socket; once that worker has answered a request, the recorded objects are
compared with what the modules hold now.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import select, socket, ssl, threading, time, os
import json, sys

WATCHED = {"socket": socket, "threading": threading, "time": time, "select": select,
           "ssl": ssl, "os": os}
before = {
    name: {attr: id(getattr(mod, attr)) for attr in dir(mod) if not attr.startswith("_")}
    for name, mod in WATCHED.items()
}
modules_before = {name: id(mod) for name, mod in WATCHED.items()}

import importlib, pkgutil
import corral
imported = []
for info in pkgutil.walk_packages(corral.__path__, "corral."):
    if info.name.startswith("corral.store.migrations"):
        continue  # alembic runs these; the worker below migrates the database
    importlib.import_module(info.name)
    imported.append(info.name)

from corral.service.config_files import ConfigSource
from corral.service.worker import ApiWorkerSpec, run_api_worker
from corral.store import migrate
from corral.store.database import Database

conf_path, db_url = sys.argv[1], sys.argv[2]
migrate.upgrade(Database(db_url))
sock = socket.create_server(("127.0.0.1", 0))
port = sock.getsockname()[1]
report = {}

def check():
    import http.client
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthcheck")
            report["status"] = c.getresponse().status
            break
        except OSError:
            time.sleep(0.1)
    changed = []
    for name, mod in WATCHED.items():
        if id(sys.modules[name]) != modules_before[name]:
            changed.append(f"sys.modules[{name!r}] replaced")
        for attr, ident in before[name].items():
            if id(getattr(mod, attr, None)) != ident:
                changed.append(f"{name}.{attr}")
    report["changed"] = changed
    report["imported"] = len(imported)
    report["patchers"] = [m for m in ("eventlet", "gevent") if m in sys.modules]
    os.kill(os.getpid(), 15)

threading.Thread(target=check, daemon=True).start()
run_api_worker(ApiWorkerSpec(config=ConfigSource(files=(conf_path,)), sock=sock,
                             database_url=db_url, bind_host="127.0.0.1"))
print("REPORT " + json.dumps(report))
"""


def test_stdlib_is_untouched_after_import_and_start(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf"
    conf.write_text("[api]\nauth_strategy = noauth2\n")
    conf.chmod(0o600)
    db_url = f"sqlite:///{tmp_path / 'corral.db'}"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(conf), db_url],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, result.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    assert report["status"] == 200
    assert report["imported"] > 50
    assert report["changed"] == []
    assert report["patchers"] == []
