"""`corral serve` as an operator runs it: a real process tree, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from corral.scheduler import registry
from corral.store import tables
from corral.store.database import Database

CORRAL = str(Path(sys.executable).with_name("corral"))
HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement latest"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    def __init__(self, tmp: Path, database_url: str, conf_text: str, workers: int = 2) -> None:
        self.conf = tmp / "corral.conf"
        self.conf.write_text(conf_text)
        self.conf.chmod(0o600)
        self.log = tmp / "serve.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [
                CORRAL,
                "--config-file",
                str(self.conf),
                "--database",
                database_url,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text()

    def wait_log(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            time.sleep(0.1)
        raise AssertionError(f"no log line matching {pattern!r} in:\n{self.text()}")

    def worker_of_new_connection(self) -> int:
        # A fresh connection each time, so the kernel hands it to any worker.
        with httpx.Client(base_url=self.url, timeout=10) as client:
            resp = client.get("/healthcheck")
        assert resp.status_code == 200, resp.text
        return int(resp.json()["worker"])

    def wait_workers(self, count: int, timeout: float = 90.0) -> set[int]:
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while time.monotonic() < deadline and len(seen) < count:
            try:
                seen.add(self.worker_of_new_connection())
            except httpx.TransportError:
                time.sleep(0.2)
        assert len(seen) >= count, f"workers seen: {seen}\n{self.text()}"
        return seen

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        finally:
            self._log_file.close()


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[Service]:
    svc = Service(tmp_path, database_url, "[api]\nauth_strategy = noauth2\n")
    yield svc
    if svc.proc.poll() is None:
        svc.proc.kill()
        svc.proc.wait(30)


def post_provider(client: httpx.Client) -> Any:
    name = f"rp-{uuid.uuid4()}"
    return client.post("/resource_providers", json={"name": name}, headers=HEADERS)


def test_two_workers_serve_and_sigterm_drains_in_flight(
    service: Service, database_url: str
) -> None:
    workers = service.wait_workers(2)
    assert len(workers) == 2
    created = 0
    with httpx.Client(base_url=service.url, timeout=10) as client:
        for _ in range(10):
            resp = post_provider(client)
            assert resp.status_code == 200, resp.text
            created += 1

    # A request in flight when SIGTERM arrives: headers and half the body sent.
    body = json.dumps({"name": "in-flight"}).encode()
    head = (
        f"POST /resource_providers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"x-auth-token: admin\r\nopenstack-api-version: placement latest\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    conn = socket.create_connection(("127.0.0.1", service.port), timeout=30)
    conn.sendall(head + body[:5])
    time.sleep(1.0)
    service.proc.send_signal(signal.SIGTERM)
    service.wait_log(r"SIGTERM: stopping the workers")
    time.sleep(1.0)
    conn.sendall(body[5:])
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    conn.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]

    assert service.stop() == 0, service.text()
    assert "all workers stopped" in service.text()
    assert "killing it" not in service.text()
    db = Database(database_url)
    with db.read() as c:
        names = list(c.execute(select(tables.resource_providers.c.name)).scalars())
    db.dispose()
    assert len(names) == created + 1
    assert "in-flight" in names


def test_metrics_sum_workers_restart_and_reload(service: Service) -> None:
    service.wait_workers(2)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        for _ in range(6):
            assert post_provider(client).status_code == 200
        metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    line = 'corral_http_requests_total{method="POST",route="/resource_providers",status="200"} 6.0'
    assert line in metrics.text.splitlines()

    # A worker that dies is logged and replaced.
    victim = service.worker_of_new_connection()
    os.kill(victim, signal.SIGKILL)
    service.wait_log(
        rf"api worker \d \(pid {victim}\) was killed by signal 9 \(SIGKILL\); restarting in 1 s"
    )
    service.wait_log(rf"api worker \d started \(pid (?!{victim}\))\d+\)")
    survivors = service.wait_workers(2)
    assert victim not in survivors

    # SIGHUP: the safe options are applied, the others reported as needing a restart.
    service.conf.write_text(
        "[api]\nauth_strategy = noauth2\n"
        "[DEFAULT]\nlog_level = WARNING\n"
        "[filter_scheduler]\nram_weight_multiplier = 2.5\n"
        "[placement]\nmax_allocation_candidates = 5\n"
    )
    service.proc.send_signal(signal.SIGHUP)
    service.wait_log(r"SIGHUP: applied \[filter_scheduler\] ram_weight_multiplier: 1\.0 -> 2\.5")
    service.wait_log(r"SIGHUP: applied \[DEFAULT\] log_level: 'INFO' -> 'WARNING'")
    service.wait_log(
        r"SIGHUP: not applied \(needs a restart\) \[placement\] max_allocation_candidates: -1 -> 5"
    )
    assert service.stop() == 0, service.text()


def test_sighup_with_bad_config_keeps_running(service: Service) -> None:
    service.wait_workers(1)
    service.conf.write_text("[api]\nauth_strategy = noauth2\n[scheduler]\nmax_attempts = 0\n")
    service.proc.send_signal(signal.SIGHUP)
    service.wait_log(r"SIGHUP: the new configuration is refused; nothing changed")
    service.wait_log(r"\[scheduler\] max_attempts = 0 is not allowed: it must be a whole number")
    assert service.worker_of_new_connection() > 0
    assert service.stop() == 0, service.text()


CAP = r"the worker cap: min\(4 x \d+ CPUs, \d+ MiB available / 512 MiB per worker\) = \d+"


@pytest.mark.parametrize(
    ("conf_text", "extra", "expected"),
    [
        (
            "[api]\nauth_strategy = noauth2\n",
            ["--workers", "0"],
            rf"corral: error: \[api\] workers = 0 is not allowed: it must be a whole number "
            rf"from 1 to \d+ \({CAP}\)",
        ),
        (
            "[api]\nauth_strategy = noauth2\nworkers = 5000\n",
            [],
            rf"corral: error: \[api\] workers = 5000 is not allowed: it must be a whole number "
            rf"from 1 to \d+ \({CAP}\)",
        ),
        (
            "[api]\nauth_strategy = noauth2\n",
            ["--host", "0.0.0.0"],
            re.escape(
                "corral: error: [api] auth_strategy = noauth2 trusts any token; it may only "
                "listen on a loopback address (127.0.0.1, ::1, localhost), not '0.0.0.0'. "
                "Use auth_strategy = keystone to serve other machines."
            ),
        ),
        (
            "[DEFAULT]\ntransport_url = kafka://nova:s3cret@10.1.2.3:9092/\n"
            "[api]\nauth_strategy = noauth2\n",
            [],
            re.escape(
                "corral: error: [DEFAULT] transport_url = kafka://nova:***@10.1.2.3:9092/ is not "
                "allowed: transport scheme 'kafka' is not supported; corral speaks to RabbitMQ "
                "only (rabbit://user:password@host:5672/vhost)"
            ),
        ),
        (
            "[api]\nauth_strategy = noauth2\n"
            "[filter_scheduler]\nweight_classes = nova.scheduler.weights.all_weighers\n",
            [],
            re.escape(
                "corral: error: [filter_scheduler] weight_classes = "
                "nova.scheduler.weights.all_weighers is a Nova import path; corral loads nothing "
                "by import path. Use 'all' or one of: " + ", ".join(sorted(registry.WEIGHERS))
            ),
        ),
    ],
    ids=[
        "workers-zero",
        "workers-over-cap",
        "noauth-public",
        "transport-not-rabbit",
        "nova-weigher-path",
    ],
)
def test_refusals_name_the_problem_and_start_nothing(
    tmp_path: Path, conf_text: str, extra: list[str], expected: str
) -> None:
    conf = tmp_path / "corral.conf"
    conf.write_text(conf_text)
    conf.chmod(0o600)
    port = free_port()
    data = tmp_path / "data"
    result = subprocess.run(
        [
            CORRAL,
            "--config-file",
            str(conf),
            "--data-dir",
            str(data),
            "serve",
            "--port",
            str(port),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert re.fullmatch(expected, lines[0]), lines
    assert lines[-1] == "corral: refusing to start; nothing was started"
    assert "s3cret" not in result.stderr
    assert result.stdout == ""
    assert not data.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_group_writable_config_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf"
    conf.write_text("[api]\nauth_strategy = noauth2\n")
    conf.chmod(0o664)
    result = subprocess.run(
        [CORRAL, "--config-file", str(conf), "--data-dir", str(tmp_path / "data"), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"corral: error: config file {conf} has mode 0664: it is writable by its group; "
        f"corral refuses config that anyone but its owner can change (run: chmod go-w {conf})"
    )
    assert not (tmp_path / "data").exists()


def test_restart_backoff_doubles_and_is_capped() -> None:
    from corral.service.supervisor import Backoff, describe_exit

    backoff = Backoff(initial=1.0, maximum=30.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert describe_exit(-9) == "was killed by signal 9 (SIGKILL)"
    assert describe_exit(78) == "exited with status 78"
