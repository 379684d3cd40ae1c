"""Operator endpoints: GET /healthcheck and GET /metrics.

/healthcheck needs no token (load balancers and orchestrators probe it): it
answers 200 when this worker can reach its database and 503 when it cannot,
and says nothing more to an anonymous caller than that and which worker
process answered. /metrics needs no token either, because Prometheus scrapes
without Keystone tokens; instead it answers only clients whose address is in
`[api] metrics_allowed_networks` (loopback by default) and 403 to the rest.
Behind a reverse proxy the proxy's address is the one checked, so do not
route /metrics through a proxy that the world can reach.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable

from sqlalchemy import text

from corral import metrics
from corral.api.errors import Forbidden
from corral.api.http import Handler, Request, Response, json_response
from corral.api.routing import Router

LOG = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNMATCHED_ROUTE = "(unmatched)"
# Any token is a valid HTTP method; others are counted as one so that a client
# cannot grow the label set.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class OpsEndpoints:
    def __init__(self, metrics_allowed_networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in metrics_allowed_networks
        )

    def healthcheck(self, req: Request) -> Response:
        try:
            with req.services.db.read() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database means unhealthy
            LOG.exception("healthcheck: database unreachable")
            return json_response({"status": "unavailable", "worker": os.getpid()}, 503)
        return json_response({"status": "ok", "worker": os.getpid()})

    def metrics(self, req: Request) -> Response:
        if not self.client_allowed(req.client):
            raise Forbidden(
                "Metrics are readable from the networks in [api] metrics_allowed_networks only."
            )
        body, content_type = metrics.exposition()
        return Response(status=200, body=body, content_type=content_type)

    def client_allowed(self, client: str | None) -> bool:
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def routes(self) -> list[tuple[str, dict[str, Handler]]]:
        return [
            ("/healthcheck", {"GET": self.healthcheck, "HEAD": self.healthcheck}),
            ("/metrics", {"GET": self.metrics}),
        ]


class RequestMetrics:
    """The App's observer: counts each answer under its route template."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        match = self.router.match(path)
        route = match[0].template if match is not None else UNMATCHED_ROUTE
        method = method if method in KNOWN_METHODS else "OTHER"
        metrics.record_request(method, route, status, seconds)
