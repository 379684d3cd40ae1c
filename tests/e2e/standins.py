"""Glance and Neutron stand-ins for the end-to-end Nova cloud.

Image and network services are outside corral. The servers these tests boot
have no network (`networks: none`) and images that no hypervisor reads
(Nova's fake virt driver), so the stand-ins answer only what nova-api and
nova-compute ask on those paths: Glance's image records (two images, for a
rebuild with a new one, and the snapshot records shelving creates and
unshelving deletes) and schema, Neutron's extension, port and network lists
(empty). Anything else is answered 404
and recorded in `unexpected`, which the tests assert stays empty, so a flow
that starts depending on a call these stand-ins fake is noticed.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

IMAGE_ID = "6b0e1f3c-93c8-4a47-9b3e-2f6a1a0c9d01"
IMAGE = {
    "id": IMAGE_ID,
    "name": "cirros-e2e",
    "status": "active",
    "visibility": "public",
    "protected": False,
    "os_hidden": False,
    "disk_format": "qcow2",
    "container_format": "bare",
    "size": 1_048_576,
    "virtual_size": None,
    "min_disk": 0,
    "min_ram": 0,
    "checksum": "0" * 32,
    "os_hash_algo": None,
    "os_hash_value": None,
    "owner": "admin",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
    "tags": [],
    "file": f"/v2/images/{IMAGE_ID}/file",
    "schema": "/v2/schemas/image",
    "self": f"/v2/images/{IMAGE_ID}",
    "hw_architecture": "x86_64",
}
IMAGE2_ID = "0c5f3b9e-7d1a-4e2b-8a6c-5f4e3d2c1b02"
IMAGE2 = dict(
    IMAGE,
    id=IMAGE2_ID,
    name="cirros-e2e-2",
    file=f"/v2/images/{IMAGE2_ID}/file",
    self=f"/v2/images/{IMAGE2_ID}",
)
ANY = {"type": ["null", "string", "integer", "number", "boolean", "array", "object"]}
IMAGE_SCHEMA = {
    "name": "image",
    "properties": {key: ANY for key in IMAGE},
    "additionalProperties": {"type": "string"},
    "links": [],
}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        self.server.seen.append(f"{self.command} {path}")
        found = self.server.route(self.command, path, self)
        if found is None:
            self.server.unexpected.append(f"{self.command} {self.path}")
            self._send(404, {"error": f"stand-in: no {self.command} {path}"})
        else:
            self._send(*found)

    def do_GET(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[str] = []
        self.unexpected: list[str] = []

    def route(self, method: str, path: str, handler: _Handler) -> tuple[int, Any] | None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()


class GlanceStandIn(_Server):
    IMAGE_PATH = re.compile(r"^/v2/images/([0-9a-f-]{36})$")

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.images: dict[str, dict[str, Any]] = {IMAGE_ID: IMAGE, IMAGE2_ID: IMAGE2}

    def route(self, method: str, path: str, handler: _Handler) -> tuple[int, Any] | None:
        one = self.IMAGE_PATH.match(path)
        if method == "POST" and path == "/v2/images":
            # a snapshot's record (shelve): the fake driver uploads no data
            length = int(handler.headers.get("Content-Length") or 0)
            body = json.loads(handler.rfile.read(length) or b"{}")
            image_id = str(body.get("id") or uuid.uuid4())
            record = {**IMAGE, "visibility": "private", **body}
            record.update(
                id=image_id,
                status="active",
                file=f"/v2/images/{image_id}/file",
                self=f"/v2/images/{image_id}",
            )
            with self._lock:
                self.images[image_id] = record
            return 201, record
        if method == "DELETE" and one:
            with self._lock:
                gone = self.images.pop(one.group(1), None)
            return None if gone is None else (204, None)
        if method != "GET":
            return None
        if one:
            with self._lock:
                found = self.images.get(one.group(1))
            return None if found is None else (200, found)
        if path in ("", "/versions"):
            return 200, {
                "versions": [
                    {
                        "id": "v2.9",
                        "status": "CURRENT",
                        "links": [{"rel": "self", "href": f"{self.url}/v2/"}],
                    }
                ]
            }
        if path == "/v2/schemas/image":
            return 200, IMAGE_SCHEMA
        if path == "/v2/images":
            with self._lock:
                return 200, {"images": list(self.images.values())}
        return None


class NeutronStandIn(_Server):
    LISTS = re.compile(r"^/v2\.0/(ports|networks|subnets|floatingips|security-groups|extensions)$")

    def route(self, method: str, path: str, handler: _Handler) -> tuple[int, Any] | None:
        if method == "GET" and path == "":
            return 200, {
                "versions": [
                    {
                        "id": "v2.0",
                        "status": "CURRENT",
                        "links": [{"rel": "self", "href": f"{self.url}/v2.0/"}],
                    }
                ]
            }
        listed = self.LISTS.match(path)
        if method == "GET" and listed:
            return 200, {listed.group(1).replace("-", "_"): []}
        return None
