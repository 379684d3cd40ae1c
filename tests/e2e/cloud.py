"""A small real Nova 34 cloud whose Placement and scheduler are corral.

Every Nova part is Nova's own code from PyPI (the Nova 34 virtualenv), run as
separate processes: nova-api (its WSGI application under a threading WSGI
server), nova-conductor, and COMPUTES nova-compute processes with Nova's
MediumFakeDriver (nova_side/e2e_fake.py: one whose node keeps its UUID when
its nova-compute restarts), each with its own `[DEFAULT] host` and
`state_path`; one can be stopped and started again (`stop_compute`,
`start_compute`). Nova's API, cell0 and
cell1 databases live on MariaDB and are made by nova-manage; messages go
through RabbitMQ, on a virtual host of the cloud's own. corral serves as
both Placement (nova-compute's resource trackers and nova-api write to it)
and the scheduler (nova-conductor calls it over RPC), and reads hosts,
services, aggregates and instances from Nova's databases through an account
that can only SELECT. With stack="upstream" the same cloud runs on
nova-scheduler and upstream Placement 16 (its database on MariaDB) instead,
and `switch_to_corral()` adopts it as an operator would: stop both, import
Placement's database with `corral db import-placement`, start corral on the
same endpoint and topic. Keystone, Glance and Neutron are outside corral: the
auth pipeline's token filter (nova_side/token_filter.py) and the stand-ins
(standins.py) take their place.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.e2e.standins import GlanceStandIn, NeutronStandIn

NOVA_SIDE = Path(__file__).with_name("nova_side")
CORRAL = str(Path(sys.executable).with_name("corral"))
MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"
RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"
FEED_USER = "corral_e2e_ro"
FEED_PASSWORD = "E2e-feed-ro-5c1d"
ADMIN_TOKEN = "admin:admin"
# What the scheduler runs (corral, or nova-scheduler on the upstream stack):
# Nova's default filters plus the two the aggregate scenarios need and
# NUMATopologyFilter (the pinned servers of test_nova_moves.py).
ENABLED_FILTERS = (
    "ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,"
    "ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,"
    "AggregateInstanceExtraSpecsFilter,AggregateMultiTenancyIsolation,NUMATopologyFilter"
)


class CloudError(AssertionError):
    """The cloud did not come up or an operation did not behave."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise CloudError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


class Operator:
    """openstacksdk, as an operator uses it, in the Nova virtualenv."""

    def __init__(self, python: Path, nova_url: str, token: str, log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(python), str(NOVA_SIDE / "sdk_driver.py"), nova_url, token],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def call(self, call: str, *args: Any, **kwargs: Any) -> Any:
        answer = self.try_call(call, *args, **kwargs)
        if "error" in answer:
            raise CloudError(f"{call}: {answer['type']}: {answer['error']}\n{answer['trace']}")
        return answer["ok"]

    def try_call(self, call: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"call": call, "args": args, "kwargs": kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise CloudError(f"the openstacksdk driver exited during {call}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


class NovaCloud:
    def __init__(
        self,
        workdir: Path,
        nova_python: Path,
        computes: int = 4,
        *,
        stack: str = "corral",
        placement_python: Path | None = None,
        compute_driver: str = "e2e_fake.StableMediumFakeDriver",
        compute_conf: str = "",
        debug: bool = True,
    ) -> None:
        if stack not in ("corral", "upstream"):
            raise ValueError(f"stack must be corral or upstream, not {stack!r}")
        if stack == "upstream" and placement_python is None:
            raise ValueError("stack='upstream' needs placement_python")
        self.stack = stack
        self.compute_driver = compute_driver
        # more of each compute's own config file (e.g. a [compute] section)
        self.compute_conf = compute_conf
        self.debug = debug
        self.placement_python = placement_python
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.nova_python = nova_python
        self.nova_bin = nova_python.parent
        self.tag = uuid.uuid4().hex[:8]
        self.vhost = f"corral_e2e_{self.tag}"
        self.dbs = {
            name: f"nova_{name}_e2e_{self.tag}" for name in ("api", "cell0", "cell1", "placement")
        }
        self.computes = [f"e2e-compute-{i + 1}" for i in range(computes)]
        self.corral_port = free_port()
        self.nova_port = free_port()
        self.placement_url = f"http://127.0.0.1:{self.corral_port}"
        self.nova_url = f"http://127.0.0.1:{self.nova_port}/v2.1"
        self.glance = GlanceStandIn()
        self.neutron = NeutronStandIn()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._operators: list[Operator] = []
        self.placement = httpx.Client(
            base_url=self.placement_url,
            headers={"x-auth-token": "admin", "openstack-api-version": "placement latest"},
            timeout=30,
        )

    # -- set-up -------------------------------------------------------------

    def start(self) -> None:
        self.glance.start()
        self.neutron.start()
        self._make_databases()
        self._make_vhost()
        self._write_nova_conf()
        self.nova_manage("api_db", "sync")
        self.nova_manage(
            "cell_v2", "map_cell0", "--database_connection", MYSQL_ADMIN + self.dbs["cell0"]
        )
        self.nova_manage(
            "cell_v2",
            "create_cell",
            "--name",
            "cell1",
            "--database_connection",
            MYSQL_ADMIN + self.dbs["cell1"],
            "--transport-url",
            RABBIT + self.vhost,
        )
        self.nova_manage("db", "sync")
        if self.stack == "corral":
            self._start_corral()
        else:
            self._start_upstream()
        self._spawn("nova-conductor", [str(self.nova_bin / "nova-conductor"), *self._conf_args()])
        for host in self.computes:
            self._start_compute(host)
        self._spawn(
            "nova-api",
            [str(self.nova_python), str(NOVA_SIDE / "nova_api.py"), str(self.nova_port)],
            env={
                "OS_NOVA_CONFIG_DIR": str(self.workdir),
                "OS_NOVA_CONFIG_FILES": "api-paste.ini;nova.conf",
            },
        )
        wait_for("nova-api", self._nova_api_up, 180)
        wait_for(
            f"{len(self.computes)} compute nodes in corral's Placement",
            lambda: len(self.providers()) >= len(self.computes),
            240,
            1.0,
        )
        self.nova_manage("cell_v2", "discover_hosts", "--verbose")

    def _make_databases(self) -> None:
        admin = create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.dbs.values():
                conn.execute(text(f"CREATE DATABASE {name}"))
            conn.execute(
                text(f"CREATE USER IF NOT EXISTS '{FEED_USER}'@'%' IDENTIFIED BY :pw"),
                {"pw": FEED_PASSWORD},
            )
            # The feed reads the API database through this account; the cell
            # URLs it follows are Nova's own, from cell_mappings.
            conn.execute(text(f"GRANT SELECT ON {self.dbs['api']}.* TO '{FEED_USER}'@'%'"))
        admin.dispose()

    def _make_vhost(self) -> None:
        ctl = shutil.which("rabbitmqctl")
        if ctl is None:
            raise CloudError("rabbitmqctl is not on PATH: the cloud needs a vhost of its own")
        subprocess.run([ctl, "add_vhost", self.vhost], check=True, capture_output=True)
        subprocess.run(
            [ctl, "set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
        )

    def _write_nova_conf(self) -> None:
        paste = (self.nova_bin.parent / "etc" / "nova" / "api-paste.ini").read_text()
        paste = paste.replace(" authtoken keystonecontext ", " e2etoken keystonecontext ")
        paste += "\n[filter:e2etoken]\npaste.filter_factory = token_filter:filter_factory\n"
        (self.workdir / "api-paste.ini").write_text(paste)
        state = self.workdir / "state"
        state.mkdir(exist_ok=True)
        admin_token = "auth_type = admin_token\ntoken = {token}\nendpoint = {endpoint}\n"
        (self.workdir / "nova.conf").write_text(
            "[DEFAULT]\n"
            f"transport_url = {RABBIT}{self.vhost}\n"
            f"compute_driver = {self.compute_driver}\n"
            f"state_path = {state}\n"
            "my_ip = 127.0.0.1\n"
            "report_interval = 5\n"
            "service_down_time = 30\n"
            # A shelved server stays on its host until shelve_offload is asked
            # for, so each step of shelving can be checked.
            "shelved_offload_time = -1\n"
            f"debug = {str(self.debug).lower()}\n"
            "[api]\nauth_strategy = keystone\n"
            f"[wsgi]\napi_paste_config = {self.workdir / 'api-paste.ini'}\n"
            f"[api_database]\nconnection = {MYSQL_ADMIN}{self.dbs['api']}\n"
            f"[database]\nconnection = {MYSQL_ADMIN}{self.dbs['cell1']}\n"
            "[conductor]\nworkers = 1\n"
            "[quota]\ninstances = -1\ncores = -1\nram = -1\nserver_group_members = -1\n"
            f"[oslo_concurrency]\nlock_path = {state / 'lock'}\n"
            "[scheduler]\ndiscover_hosts_in_cells_interval = -1\nworkers = 1\n"
            "limit_tenants_to_placement_aggregate = true\n"
            f"[filter_scheduler]\nenabled_filters = {ENABLED_FILTERS}\n"
            f"[glance]\napi_servers = {self.glance.url}\n"
            "[neutron]\n"
            f"endpoint_override = {self.neutron.url}\n"
            + admin_token.format(token=ADMIN_TOKEN, endpoint=self.neutron.url)
            + "[placement]\n"
            + admin_token.format(token=ADMIN_TOKEN, endpoint=self.placement_url)
            + "[cinder]\nos_region_name = RegionOne\n"
            "[os_vif_ovs]\n"
            "[oslo_policy]\nenforce_scope = false\nenforce_new_defaults = true\n"
        )

    def _conf_args(self, *extra: Path) -> list[str]:
        args = ["--config-file", str(self.workdir / "nova.conf")]
        for path in extra:
            args += ["--config-file", str(path)]
        return args

    def nova_manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.nova_bin / "nova-manage"), *self._conf_args(), *args],
            capture_output=True,
            text=True,
            timeout=600,
        )
        with (self.logs / "nova-manage.log").open("a") as log:
            log.write(f"$ nova-manage {' '.join(args)}\n{done.stdout}{done.stderr}\n")
        if check and done.returncode != 0:
            raise CloudError(
                f"nova-manage {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(NOVA_SIDE)
        full_env.update(env or {})
        self.procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=self.workdir
        )

    def _start_corral(self) -> None:
        conf = self.workdir / "corral.conf"
        conf.write_text(
            "[DEFAULT]\n"
            f"transport_url = {RABBIT}{self.vhost}\n"
            "host = corral-e2e\n"
            "service_down_time = 30\n"
            "[api]\nauth_strategy = noauth2\n"
            "[scheduler]\nworkers = 1\nnova_db_refresh_interval = 2\n"
            "limit_tenants_to_placement_aggregate = true\n"
            f"[filter_scheduler]\nenabled_filters = {ENABLED_FILTERS}\n"
            "[api_database]\n"
            f"connection = mysql+pymysql://{FEED_USER}:{FEED_PASSWORD}@127.0.0.1:3306/"
            f"{self.dbs['api']}\n"
        )
        conf.chmod(0o600)
        database = f"sqlite:///{self.workdir / 'corral.db'}"
        subprocess.run(
            [CORRAL, "--config-file", str(conf), "--database", database, "db", "upgrade"],
            check=True,
            capture_output=True,
        )
        log = (self.logs / "corral.log").open("ab")
        self.procs["corral"] = subprocess.Popen(
            [
                CORRAL,
                "--config-file",
                str(conf),
                "--database",
                database,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.corral_port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for("corral's RPC server", lambda: "RPC server listening" in self.log("corral"), 120)

    def _start_upstream(self) -> None:
        """Upstream Placement and nova-scheduler, as the cloud ran before corral."""
        assert self.placement_python is not None
        conf_dir = self.workdir / "placement"
        conf_dir.mkdir(exist_ok=True)
        (conf_dir / "placement.conf").write_text(
            "[DEFAULT]\ndebug = False\n[api]\nauth_strategy = noauth2\n"
            f"[placement_database]\nconnection = {MYSQL_ADMIN}{self.dbs['placement']}\n"
        )
        subprocess.run(
            [
                str(self.placement_python.parent / "placement-manage"),
                "--config-file",
                str(conf_dir / "placement.conf"),
                "db",
                "sync",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        self._spawn(
            "placement-api",
            [
                str(self.placement_python),
                str(NOVA_SIDE / "placement_api.py"),
                str(self.corral_port),
            ],
            env={"OS_PLACEMENT_CONFIG_DIR": str(conf_dir)},
        )
        wait_for("upstream Placement", self._placement_up, 120)
        self._spawn("nova-scheduler", [str(self.nova_bin / "nova-scheduler"), *self._conf_args()])

    def _placement_up(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(self.placement_url, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def switch_to_corral(self) -> subprocess.CompletedProcess[str]:
        """Adopt the running cloud: stop nova-scheduler and upstream Placement,
        import Placement's database into corral's, start corral in their place
        (same endpoint, same topic). Returns the import's run."""
        assert self.stack == "upstream"
        for name in ("nova-scheduler", "placement-api"):
            proc = self.procs.pop(name)
            proc.terminate()
            proc.wait(timeout=30)
        database = f"sqlite:///{self.workdir / 'corral.db'}"
        subprocess.run([CORRAL, "--database", database, "db", "upgrade"], check=True)
        imported = subprocess.run(
            [
                CORRAL,
                "--database",
                database,
                "db",
                "import-placement",
                "--from",
                f"{MYSQL_ADMIN}{self.dbs['placement']}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        (self.logs / "import-placement.log").write_text(imported.stdout + imported.stderr)
        if imported.returncode != 0:
            raise CloudError(f"import-placement failed:\n{imported.stdout}\n{imported.stderr}")
        self.stack = "corral"
        self._start_corral()
        wait_for("corral's Placement", self._placement_up, 60)
        return imported

    def _start_compute(self, host: str) -> None:
        # Each compute has a state_path of its own, as each real host has: its
        # node identity (compute_id, e2e_fake.py) lives there.
        state = self.workdir / "state" / host
        state.mkdir(parents=True, exist_ok=True)
        extra = self.workdir / f"{host}.conf"
        extra.write_text(f"[DEFAULT]\nhost = {host}\nstate_path = {state}\n{self.compute_conf}")
        self._spawn(
            host,
            [str(self.nova_python), str(NOVA_SIDE / "nova_compute.py"), *self._conf_args(extra)],
        )

    def stop_compute(self, host: str) -> None:
        """Stop one nova-compute process (SIGTERM, as systemd stops it); the
        service then goes down once its reports stop."""
        proc = self.procs.pop(host)
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def start_compute(self, host: str) -> None:
        """Start a stopped nova-compute again (its init_host runs, as at boot)."""
        if host in self.procs:
            raise CloudError(f"{host}'s nova-compute is already running")
        self._start_compute(host)

    def _nova_api_up(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(self.nova_url, timeout=5).status_code in (200, 401)
        except httpx.TransportError:
            return False

    # -- use ------------------------------------------------------------------

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            tails = "\n".join(f"--- {n}\n{self.log(n)[-1500:]}" for n in dead)
            raise CloudError(f"processes exited: {dead}\n{tails}")

    def operator(self, token: str = ADMIN_TOKEN) -> Operator:
        op = Operator(self.nova_python, self.nova_url, token, self.logs / "operator.log")
        self._operators.append(op)
        return op

    def providers(self) -> list[dict[str, Any]]:
        resp = self.placement.get("/resource_providers")
        resp.raise_for_status()
        return list(resp.json()["resource_providers"])

    def usages(self) -> dict[str, dict[str, int]]:
        """Each provider's usage by name, from corral's Placement."""
        out: dict[str, dict[str, int]] = {}
        for rp in self.providers():
            resp = self.placement.get(f"/resource_providers/{rp['uuid']}/usages")
            resp.raise_for_status()
            out[rp["name"]] = dict(resp.json()["usages"])
        return out

    def stop(self) -> None:
        for op in self._operators:
            op.close()
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.placement.close()
        self.glance.shutdown()
        self.neutron.shutdown()
        admin = create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.dbs.values():
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
        ctl = shutil.which("rabbitmqctl")
        if ctl:
            subprocess.run([ctl, "delete_vhost", self.vhost], check=False, capture_output=True)
