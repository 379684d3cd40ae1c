"""A small HTTP client of a running corral, for the command line.

Standard library only (http.client), so the CLI runs wherever corral is
installed. It speaks the Placement API (resource providers, inventories) and
corral's scheduler API (hosts, aggregates, server groups, decisions).
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

# Errors carry codes from this Placement microversion on; any newer one is fine.
API_VERSION = "placement latest"
NO_VALID_HOST_CODE = "scheduler.no_valid_host"
SCHEDULER = "/scheduler/v1"


class ClientError(Exception):
    """The service could not be reached, or answered something that is not JSON."""


class ApiError(Exception):
    """The service refused the request: its status and error body."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        error = self._first_error(body)
        self.code: str | None = error.get("code") if error else None
        self.detail = _last_line(str(error.get("detail", ""))) if error else str(body)[:500]
        explanation = error.get("explanation") if error else None
        self.explanation: dict[str, Any] | None = (
            explanation if isinstance(explanation, dict) else None
        )
        super().__init__(f"HTTP {status}: {self.detail}")

    @staticmethod
    def _first_error(body: Any) -> dict[str, Any] | None:
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                return errors[0]
        return None

    @property
    def no_valid_host(self) -> bool:
        return self.status == 409 and self.code == NO_VALID_HOST_CODE


def _last_line(detail: str) -> str:
    """The error's own sentence: Placement puts a stock sentence before it."""
    lines = [line.strip() for line in detail.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class CorralClient:
    """One keep-alive connection to a corral service, authenticated by a token."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ClientError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._base = parsed.path.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """The decoded JSON answer (None for an empty one); ApiError for a 4xx/5xx."""
        headers = {
            "X-Auth-Token": self._token,
            "OpenStack-API-Version": API_VERSION,
            "Accept": "application/json",
        }
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        status, raw = self._send(method, self._base + path, payload, headers)
        data: Any = None
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                raise ClientError(
                    f"{method} {path}: HTTP {status} with a body that is not JSON"
                ) from None
        if status >= 400:
            raise ApiError(status, data)
        return data

    def _send(
        self, method: str, path: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        # A keep-alive connection the server closed is retried once on a new one.
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise ClientError(f"{self.url}: the connection was closed") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                if isinstance(exc, socket.timeout):
                    reason = "timed out"
                raise ClientError(f"cannot reach corral at {self.url}: {reason}") from None
        raise AssertionError("unreachable")

    # --- scheduling ---------------------------------------------------------------

    def select_destinations(
        self,
        request_spec: Mapping[str, Any],
        instance_uuids: Sequence[str] | None = None,
        *,
        return_alternates: bool = True,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "request_spec": request_spec,
            "return_alternates": return_alternates,
        }
        if instance_uuids is not None:
            body["instance_uuids"] = list(instance_uuids)
        return dict(self.request("POST", f"{SCHEDULER}/select_destinations", body))

    def explain(self, request_spec: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", f"{SCHEDULER}/explain", {"request_spec": request_spec}))

    def capacity(self, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """GET /scheduler/v1/capacity with these query parameters (a shape as
        GET /allocation_candidates takes it, and the scope)."""
        return dict(self.request("GET", f"{SCHEDULER}/capacity?{urllib.parse.urlencode(query)}"))

    # --- hosts, aggregates, server groups -----------------------------------------

    def list_hosts(self, limit: int = 1000) -> list[dict[str, Any]]:
        return list(self.request("GET", f"{SCHEDULER}/hosts?limit={limit}")["hosts"])

    def register_host(self, host: str, node: Mapping[str, Any]) -> dict[str, Any]:
        path = f"{SCHEDULER}/hosts/{urllib.parse.quote(host, safe='')}"
        return dict(self.request("PUT", path, dict(node))["host"])

    def heartbeat(self, host: str) -> None:
        self.request("POST", f"{SCHEDULER}/hosts/{urllib.parse.quote(host, safe='')}/heartbeat")

    def list_aggregates(self) -> list[dict[str, Any]]:
        return list(self.request("GET", f"{SCHEDULER}/aggregates")["aggregates"])

    def create_aggregate(self, name: str, availability_zone: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name}
        if availability_zone is not None:
            body["availability_zone"] = availability_zone
        return dict(
            self.request("POST", f"{SCHEDULER}/aggregates", {"aggregate": body})["aggregate"]
        )

    def aggregate_action(self, aggregate: int | str, action: str, args: Mapping[str, Any]) -> Any:
        return self.request(
            "POST", f"{SCHEDULER}/aggregates/{aggregate}/action", {action: dict(args)}
        )["aggregate"]

    def create_server_group(self, name: str, policy: str) -> dict[str, Any]:
        body = {"server_group": {"name": name, "policy": policy}}
        return dict(self.request("POST", f"{SCHEDULER}/server_groups", body)["server_group"])

    # --- Placement ------------------------------------------------------------------

    def provider_by_name(self, name: str) -> str | None:
        query = urllib.parse.urlencode({"name": name})
        found = self.request("GET", f"/resource_providers?{query}")["resource_providers"]
        return str(found[0]["uuid"]) if found else None

    def create_provider(self, name: str) -> str:
        return str(self.request("POST", "/resource_providers", {"name": name})["uuid"])

    def set_inventories(self, provider: str, totals: Mapping[str, int]) -> None:
        """Replace the provider's inventories with these totals (generation-checked)."""
        path = f"/resource_providers/{provider}/inventories"
        generation = self.request("GET", path)["resource_provider_generation"]
        body = {
            "resource_provider_generation": generation,
            "inventories": {rc: {"total": total} for rc, total in totals.items()},
        }
        self.request("PUT", path, body)


def parse_extra_specs(pairs: Sequence[str]) -> dict[str, str]:
    """`key=value` strings as a flavor's extra specs; ValueError names a bad one."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"extra spec {pair!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def build_request_spec(
    *,
    base: Mapping[str, Any] | None = None,
    vcpus: int | None = None,
    memory_mb: int | None = None,
    disk_gb: int | None = None,
    num_instances: int | None = None,
    availability_zone: str | None = None,
    project_id: str | None = None,
    group: str | None = None,
    extra_specs: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A request_spec body: `base` (from a spec file) with each given option over it.

    Without a base, a flavor of 1 vCPU, 512 MB and no disk is the starting point.
    """
    spec: dict[str, Any] = json.loads(json.dumps(base)) if base is not None else {}
    flavor: dict[str, Any] = spec.setdefault("flavor", {})
    if not isinstance(flavor, dict):
        raise ValueError("request_spec.flavor must be an object")
    flavor.setdefault("vcpus", 1)
    flavor.setdefault("memory_mb", 512)
    for key, value in (("vcpus", vcpus), ("memory_mb", memory_mb), ("root_gb", disk_gb)):
        if value is not None:
            flavor[key] = value
    if extra_specs:
        flavor["extra_specs"] = {**flavor.get("extra_specs", {}), **extra_specs}
    if num_instances is not None:
        spec["num_instances"] = num_instances
    if availability_zone is not None:
        spec["availability_zone"] = availability_zone
    if project_id is not None:
        spec["project_id"] = project_id
    if group is not None:
        spec["instance_group_uuid"] = group
    return spec
