"""A real corral (`corral serve`, noauth2 on loopback) with the demo cloud, and
Debian's Chromium driven by Playwright, for the dashboard's browser tests.

Chromium is Debian's (/usr/bin/chromium), installed here with apt-get when
absent; Playwright never downloads a browser. Screenshots go to
$CORRAL_TEST_OUTPUT, else tests/browser/output/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CORRAL = str(Path(sys.executable).with_name("corral"))
OUTPUT = Path(os.environ.get("CORRAL_TEST_OUTPUT") or Path(__file__).parent / "output")
DEMO_HOSTS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.fail(f"{CHROMIUM} is missing and there is no apt-get to install it")
    done = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0 or not Path(CHROMIUM).exists():
        pytest.fail(f"apt-get install chromium failed:\n{done.stdout}\n{done.stderr}")
    return CHROMIUM


@dataclass(frozen=True)
class Cloud:
    url: str
    log: Path


def _corral(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CORRAL, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """`corral serve` as `make run` starts it, then `corral demo` against it and one
    request that fits nowhere (a NoValidHost to follow)."""
    tmp = tmp_path_factory.mktemp("browser")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                CORRAL,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(tmp / "data"),
                "--auth-strategy",
                "noauth2",
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/healthcheck", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"corral serve did not answer:\n{log.read_text()}"
            time.sleep(0.2)
        demo = _corral("demo", "--url", url, "--hosts", str(DEMO_HOSTS), "--instances", "12")
        assert demo.returncode == 0, demo.stdout + demo.stderr
        nowhere = _corral("schedule", "--url", url, "--vcpus", "1000")
        assert nowhere.returncode == 1, nowhere.stdout + nowhere.stderr
        yield Cloud(url, log)
    finally:
        proc.terminate()
        proc.wait(60)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=_ensure_chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def output() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
