"""A Keystone double on 127.0.0.1: the version document and token validation, no more.

Enough for keystonemiddleware's AuthProtocol (configured with the admin_token
auth plugin and auth_version v3) to validate tokens for real. Token "good" is
project scoped (member, reader), "system" is system scoped (admin); any other
is unknown (404). The service token it accepts is "svc".
"""

from __future__ import annotations

import datetime
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _expiry() -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _token(kind: str) -> dict[str, Any]:
    token: dict[str, Any] = {
        "methods": ["password"],
        "expires_at": _expiry(),
        "issued_at": _expiry(),
        "user": {"id": "u1", "name": "alice", "domain": {"id": "default", "name": "Default"}},
    }
    if kind == "system":
        token["system"] = {"all": True}
        token["roles"] = [{"id": "r0", "name": "admin"}]
    else:
        token["project"] = {"id": "p1", "name": "proj", "domain": {"id": "default", "name": "D"}}
        token["is_admin_project"] = False
        token["roles"] = [{"id": "r1", "name": "member"}, {"id": "r2", "name": "reader"}]
    return {"token": token}


class FakeKeystone(BaseHTTPRequestHandler):
    """Keystone v3 as far as keystonemiddleware needs it to validate a token."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        host = self.headers["Host"]
        if self.path.rstrip("/") == "/v3":
            self._send(
                200,
                {
                    "version": {
                        "id": "v3.14",
                        "status": "stable",
                        "links": [{"rel": "self", "href": f"http://{host}/v3/"}],
                    }
                },
            )
        elif self.path.startswith("/v3/auth/tokens") and self.headers["X-Auth-Token"] == "svc":
            subject = self.headers.get("X-Subject-Token")
            if subject in ("good", "system"):
                self._send(200, _token(subject))
            else:
                self._send(404, {"error": {"code": 404, "message": "no such token"}})
        else:
            self._send(404, {"error": {"code": 404}})


@contextmanager
def fake_keystone() -> Iterator[str]:
    """Serve the double; yields its v3 URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKeystone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v3"


def authtoken_section(url: str, *, delay: bool = False) -> str:
    """A [keystone_authtoken] section pointing keystonemiddleware at `url`."""
    return (
        "[keystone_authtoken]\n"
        f"www_authenticate_uri = {url}\n"
        "auth_type = admin_token\n"
        f"endpoint = {url}\n"
        "token = svc\n"
        "auth_version = v3\n"
        f"delay_auth_decision = {str(delay).lower()}\n"
        "http_request_max_retries = 0\n"
        "http_connect_timeout = 5\n"
    )
