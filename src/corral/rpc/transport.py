"""The one message transport corral uses: RabbitMQ, named by a rabbit:// URL.

oslo.messaging loads its driver by the URL's scheme; refusing every scheme but
`rabbit` keeps that choice out of config. The launcher checks this before it
starts anything, the RPC server again before it connects.
"""

from __future__ import annotations

from urllib.parse import urlsplit

TRANSPORT_SCHEMES = ("rabbit",)


class TransportRefused(ValueError):
    """A transport URL corral does not use."""


def check_transport_url(url: str) -> None:
    """Refuse anything but a rabbit:// URL naming at least one host."""
    try:
        parts = urlsplit(url)
        hosts = [part.rsplit("@", 1)[-1] for part in parts.netloc.split(",")]
    except ValueError as exc:
        raise TransportRefused(f"unparseable transport URL: {exc}") from None
    if parts.scheme not in TRANSPORT_SCHEMES:
        raise TransportRefused(
            f"transport scheme {parts.scheme!r} is not supported; corral speaks to RabbitMQ "
            "only (rabbit://user:password@host:5672/vhost)"
        )
    if not any(host.split(":")[0] for host in hosts):
        raise TransportRefused("the transport URL names no host")
