"""Overload against a real `corral serve`: past `[api] max_concurrent_requests`
requests a worker holds, new ones get a prompt 503 with Retry-After."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from corral.store import migrate
from corral.store.database import Database
from tests.functional.test_launcher import HEADERS, Service

BOUND = 4
IN_FLIGHT = re.compile(r"^corral_http_requests_in_flight(?:\{[^}]*\})? (\S+)$", re.MULTILINE)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    # Admission does not depend on the database backend: SQLite only.
    url = f"sqlite:///{tmp_path / 'corral.db'}"
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    conf = f"[api]\nauth_strategy = noauth2\nmax_concurrent_requests = {BOUND}\n"
    svc = Service(tmp_path, url, conf, workers=1)
    yield svc
    if svc.proc.poll() is None:
        svc.proc.kill()
        svc.proc.wait(30)


def in_flight(client: httpx.Client) -> int:
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.text
    match = IN_FLIGHT.search(resp.text)
    return int(float(match.group(1))) if match else 0


def wait_in_flight(client: httpx.Client, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := in_flight(client)) != count:
        assert time.monotonic() < deadline, f"{seen} requests in flight, not {count}"
        time.sleep(0.05)


class SlowUpload(threading.Thread):
    """POST /resource_classes whose body arrives only once `release` is set:
    a request the worker holds for as long as the test wants."""

    def __init__(self, url: str, n: int, release: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.name_ = f"CUSTOM_SLOW_{n}"
        self.release = release
        self.status: int | None = None

    def body(self) -> Iterator[bytes]:
        yield b'{"name": '
        self.release.wait(30)
        yield f'"{self.name_}"}}'.encode()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            resp = client.post(
                "/resource_classes",
                content=self.body(),
                headers={**HEADERS, "content-type": "application/json"},
            )
        self.status = resp.status_code


def test_past_the_bound_requests_get_503_with_retry_after(service: Service) -> None:
    service.wait_workers(1)
    release = threading.Event()
    uploads = [SlowUpload(service.url, n, release) for n in range(BOUND)]
    with httpx.Client(base_url=service.url, timeout=10) as client:
        try:
            # One below the bound: requests still get in, one at a time.
            for upload in uploads[:-1]:
                upload.start()
            wait_in_flight(client, BOUND - 1)
            for _ in range(3):
                assert client.get("/resource_providers", headers=HEADERS).status_code == 200

            # At the bound: every further request is refused, at once.
            uploads[-1].start()
            wait_in_flight(client, BOUND)
            answers: list[tuple[httpx.Response, float]] = []
            lock = threading.Lock()

            def call(path: str, method: str) -> None:
                started = time.monotonic()
                with httpx.Client(base_url=service.url, timeout=10) as own:
                    resp = own.request(method, path, headers=HEADERS)
                with lock:
                    answers.append((resp, time.monotonic() - started))

            paths = [
                ("/resource_providers", "GET"),
                ("/allocation_candidates?resources=VCPU:1", "GET"),
                ("/scheduler/v1/hosts", "GET"),
                ("/traits/CUSTOM_REFUSED", "PUT"),
            ] * 3
            threads = [threading.Thread(target=call, args=p) for p in paths]
            for t in threads:
                t.start()
            for t in threads:
                t.join(15)
            assert len(answers) == len(paths)
            for resp, seconds in answers:
                assert resp.status_code == 503, resp.text
                assert resp.headers["retry-after"] == "1"
                error = resp.json()["errors"][0]
                assert error["status"] == 503
                assert error["title"] == "Service Unavailable"
                assert error["request_id"] == resp.headers["x-openstack-request-id"]
                assert seconds < 2.0, seconds
            # Health and metrics are not held back by the overload.
            health = client.get("/healthcheck")
            assert health.status_code == 200, health.text
            assert in_flight(client) == BOUND
        finally:
            release.set()
            for upload in uploads:
                upload.join(15)

        # The held requests were all served, and the worker accepts again.
        assert [u.status for u in uploads] == [201] * BOUND
        wait_in_flight(client, 0)
        assert client.get("/resource_providers", headers=HEADERS).status_code == 200
        assert client.put("/traits/CUSTOM_ADMITTED", headers=HEADERS).status_code == 201
        refused = (
            'corral_http_requests_total{method="GET",route="/resource_providers",status="503"}'
        )
        assert f"{refused} 3.0" in client.get("/metrics").text.splitlines()
    assert service.stop() == 0, service.text()
