"""A real Keystone (the `keystone` package from PyPI) on 127.0.0.1, set up as an operator would.

On SQLite in a temporary directory: `keystone-manage db_sync`, `fernet_setup`,
`credential_setup` and `bootstrap` (which creates the admin, member, reader,
manager and service roles and the admin account), then, through Keystone's
REST API with the admin account, a project with a member, a reader and a user
with no role on it, and a service user for corral's keystonemiddleware.

Two keystone processes serve the same database and key repositories: the main
one, and one whose `[token] expiration` is a few seconds, for expired tokens. A
fernet token carries its own expiry, so either process validates the other's.
"""

from __future__ import annotations

import getpass
import grp
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.functional.test_launcher import free_port

SERVER = Path(__file__).with_name("keystone_side") / "keystone_api.py"
ADMIN_PASSWORD = "admin-secret"
PASSWORD = "user-secret"
SERVICE_PASSWORD = "corral-secret"
# The short-lived process's token lifetime (keystone.conf [token] expiration).
SHORT_EXPIRATION_S = 5


def _conf(tmp: Path, expiration: int) -> str:
    return (
        "[DEFAULT]\n"
        f"log_file = {tmp / f'keystone-{expiration}.log'}\n"
        "[database]\n"
        f"connection = sqlite:///{tmp / 'keystone.db'}\n"
        "[token]\n"
        "provider = fernet\n"
        f"expiration = {expiration}\n"
        "[fernet_tokens]\n"
        f"key_repository = {tmp / 'fernet-keys'}\n"
        "[credential]\n"
        f"key_repository = {tmp / 'credential-keys'}\n"
        # bcrypt's cheapest cost: every password login (the tests' and the
        # service user's) hashes once; the default costs ~0.3 s a login here.
        "[identity]\n"
        "password_hash_rounds = 4\n"
        "[cache]\n"
        "enabled = false\n"
    )


@dataclass
class Account:
    name: str
    id: str
    password: str
    project: str | None  # the project a token is scoped to; None: unscoped


@dataclass
class RealKeystone:
    tmp: Path
    python: Path
    url: str = ""  # the main process's v3 URL
    short_url: str = ""  # the short-lived tokens' process's v3 URL
    project_id: str = ""
    other_project_id: str = ""
    admin_token: str = ""  # the operator's, for the setup, revocations and checks
    accounts: dict[str, Account] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _setup: list[subprocess.Popen[str]] = field(default_factory=list)

    # ------------------------------------------------------------ lifecycle

    def _manage(self, conf: Path, *args: str) -> subprocess.Popen[str]:
        manage = self.python.with_name("keystone-manage")
        return subprocess.Popen(
            [str(manage), "--config-file", str(conf), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def _finish(self, *steps: subprocess.Popen[str]) -> None:
        for step in steps:
            out, _err = step.communicate(timeout=300)
            assert step.returncode == 0, f"{' '.join(map(str, step.args[3:5]))}: {out}"

    def start(self) -> None:
        """Set Keystone up and start serving it; `ready` waits for it. Steps
        that do not depend on each other run side by side (each keystone-manage
        imports all of keystone, seconds on a slow machine)."""
        port, short_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{port}/v3"
        self.short_url = f"http://127.0.0.1:{short_port}/v3"
        conf = self.tmp / "keystone.conf"
        conf.write_text(_conf(self.tmp, 3600))
        short_conf = self.tmp / "keystone-short.conf"
        short_conf.write_text(_conf(self.tmp, SHORT_EXPIRATION_S))
        user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
        owner = ["--keystone-user", user, "--keystone-group", group]
        # The tables and the two key repositories are independent of each
        # other; bootstrap needs all three.
        self._finish(
            self._manage(conf, "db_sync"),
            self._manage(conf, "fernet_setup", *owner),
            self._manage(conf, "credential_setup", *owner),
        )
        public = f"http://127.0.0.1:{port}/v3/"
        self._setup = [
            self._manage(
                conf,
                "bootstrap",
                "--bootstrap-password",
                ADMIN_PASSWORD,
                "--bootstrap-admin-url",
                public,
                "--bootstrap-public-url",
                public,
                "--bootstrap-internal-url",
                public,
                "--bootstrap-region-id",
                "RegionOne",
            ),
        ]
        # The API reads the keys and the accounts per request, so it may
        # start importing while bootstrap creates the accounts.
        for this_port, this_conf in ((port, conf), (short_port, short_conf)):
            log = (self.tmp / f"keystone-{this_port}.out").open("wb")
            env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(this_conf)}
            env.pop("PYTHONPATH", None)
            self.procs.append(
                subprocess.Popen(
                    [str(self.python), str(SERVER), str(this_port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )

    def ready(self) -> None:
        """Wait for the setup and both processes, then create the accounts."""
        self._finish(*self._setup)
        for url in (self.url, self.short_url):
            self._wait(url)
        self._populate()

    def _wait(self, url: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                assert proc.poll() is None, f"keystone exited: {self.logs()}"
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"keystone at {url} did not answer: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp.glob("keystone-*"))

    def stop(self) -> None:
        for proc in [*self._setup, *self.procs]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self._setup, *self.procs]:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)

    # ------------------------------------------------------------ REST API

    def token(self, name: str, *, short: bool = False) -> tuple[str, dict[str, Any]]:
        """A token Keystone issues for account `name` (POST /v3/auth/tokens):
        the token and its body. `short`: from the short-lived process."""
        account = self.accounts[name]
        auth: dict[str, Any] = {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": account.name,
                        "domain": {"id": "default"},
                        "password": account.password,
                    }
                },
            }
        }
        if account.project is not None:
            auth["scope"] = {"project": {"name": account.project, "domain": {"id": "default"}}}
        resp = httpx.post(
            f"{self.short_url if short else self.url}/auth/tokens",
            json={"auth": auth},
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        return resp.headers["x-subject-token"], resp.json()["token"]

    def revoke(self, token: str) -> None:
        resp = httpx.delete(
            f"{self.url}/auth/tokens",
            headers={"x-auth-token": self.admin_token, "x-subject-token": token},
            timeout=30,
        )
        assert resp.status_code == 204, resp.text

    def validate(self, token: str) -> int:
        """Keystone's own word on `token` (GET /v3/auth/tokens, as the admin)."""
        resp = httpx.get(
            f"{self.url}/auth/tokens",
            headers={"x-auth-token": self.admin_token, "x-subject-token": token},
            timeout=30,
        )
        return resp.status_code

    def _populate(self) -> None:
        self.accounts["admin"] = Account("admin", "", ADMIN_PASSWORD, "admin")
        self.admin_token, _body = self.token("admin")
        client = httpx.Client(
            base_url=self.url, headers={"x-auth-token": self.admin_token}, timeout=30
        )

        def create(kind: str, body: dict[str, Any]) -> str:
            resp = client.post(f"/{kind}s", json={kind: body})
            assert resp.status_code == 201, resp.text
            return str(resp.json()[kind]["id"])

        roles = {r["name"]: r["id"] for r in client.get("/roles").json()["roles"]}
        self.project_id = create("project", {"name": "tenant", "domain_id": "default"})
        self.other_project_id = create("project", {"name": "other", "domain_id": "default"})
        service_project = create("project", {"name": "service", "domain_id": "default"})
        grants = {
            "member": ("tenant", self.project_id, "member"),
            "reader": ("tenant", self.project_id, "reader"),
            "norole": (None, None, None),
            # As keystonemiddleware's service user: the `service` role, which
            # Keystone's identity:validate_token rule allows.
            "corral": ("service", service_project, "service"),
        }
        for name, (project, project_id, role) in grants.items():
            password = SERVICE_PASSWORD if name == "corral" else PASSWORD
            user_id = create("user", {"name": name, "password": password, "domain_id": "default"})
            if role is not None:
                resp = client.put(f"/projects/{project_id}/users/{user_id}/roles/{roles[role]}")
                assert resp.status_code == 204, resp.text
            self.accounts[name] = Account(name, user_id, password, project)
        client.close()

    def authtoken_section(self, *, token_cache_time: int) -> str:
        """corral's [keystone_authtoken]: the service user's password login."""
        return (
            "[keystone_authtoken]\n"
            f"www_authenticate_uri = {self.url}\n"
            f"auth_url = {self.url}\n"
            "auth_type = password\n"
            "username = corral\n"
            f"password = {SERVICE_PASSWORD}\n"
            "user_domain_id = default\n"
            "project_name = service\n"
            "project_domain_id = default\n"
            "region_name = RegionOne\n"
            "interface = public\n"
            f"token_cache_time = {token_cache_time}\n"
            "http_request_max_retries = 0\n"
            "http_connect_timeout = 10\n"
        )
