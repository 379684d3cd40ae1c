"""How corral treats options an operator may bring from Nova, in words.

Options corral registers are honoured; these notes say how where that needs
more than "same meaning". Keys corral does not register are ignored; the
notes below say why for the Nova ones worth explaining.
"""

from __future__ import annotations

from corral.conf.notifications import NOTIFY_RETRY
from corral.conf.scheduler import ALL_FILTERS_NAME, ALL_WEIGHERS_NAME

Key = tuple[str, str]

HONOURED: dict[Key, str] = {
    ("DEFAULT", "transport_url"): "starts the RPC workers on [scheduler] topic (rabbit:// only)",
    ("DEFAULT", "executor_thread_pool_size"): "RPC messages each RPC worker handles at once; "
    "concurrent select_destinations calls are decided together in rounds",
    ("DEFAULT", "debug"): "logs at DEBUG; re-read on SIGHUP",
    ("DEFAULT", "log_level"): "corral's log level; re-read on SIGHUP",
    ("scheduler", "workers"): "RPC worker processes, within the machine's worker cap",
    ("api", "workers"): "API worker processes, within the machine's worker cap",
    ("api", "max_concurrent_requests"): "requests one API worker holds at once (corral's "
    "own); past it, 503 with Retry-After",
    ("filter_scheduler", "available_filters"): "names from corral's static registry; "
    f"'{ALL_FILTERS_NAME}' means every registered filter; an import path is refused "
    f"(for nova.scheduler.filters.all_filters write '{ALL_FILTERS_NAME}')",
    ("filter_scheduler", "enabled_filters"): "filters applied in this order, by registry name; "
    "re-read on SIGHUP",
    ("filter_scheduler", "weight_classes"): "weighers by registry name; "
    f"'{ALL_WEIGHERS_NAME}' means every registered weigher; an import path is refused "
    f"(for nova.scheduler.weights.all_weighers write '{ALL_WEIGHERS_NAME}'); re-read on SIGHUP",
    ("filter_scheduler", "host_subset_size"): "same meaning as Nova; re-read on SIGHUP",
    ("placement_database", "connection"): "corral's own database (the Placement schema)",
    ("api_database", "connection"): "Nova's API database, read-only: hosts, services, "
    "aggregates, server groups and instances come from Nova's databases "
    "(corral.compute.nova_feed); the account needs SELECT only",
    ("notifications", "notification_format"): "which of Nova's scheduler.select_destinations "
    "notifications the RPC workers send (unversioned, versioned or both)",
    ("oslo_messaging_notifications", "driver"): "messagingv2, messaging, log or noop "
    "(oslo.messaging's built-in drivers, by name; any other is refused); empty sends nothing",
    ("oslo_messaging_notifications", "transport_url"): "the notification bus (rabbit:// "
    "only); default [DEFAULT] transport_url",
}

IGNORED: dict[Key, str] = {
    ("scheduler", "driver"): "corral has one scheduler, the filter scheduler",
    ("scheduler", "discover_hosts_in_cells_interval"): "cells and host mappings are Nova's",
    ("scheduler", "periodic_task_interval"): "corral runs no scheduler periodic tasks",
    ("DEFAULT", "scheduler_driver"): "corral has one scheduler, the filter scheduler",
    ("DEFAULT", "scheduler_host_subset_size"): "old name: use [filter_scheduler] host_subset_size",
    ("DEFAULT", "scheduler_default_filters"): "old name: use [filter_scheduler] enabled_filters",
    ("DEFAULT", "scheduler_available_filters"): "old name: use [filter_scheduler] "
    "available_filters",
    ("DEFAULT", "scheduler_weight_classes"): "old name: use [filter_scheduler] weight_classes",
    ("DEFAULT", "scheduler_max_attempts"): "old name: use [scheduler] max_attempts",
    ("DEFAULT", "scheduler_topic"): "old name: use [scheduler] topic",
    ("database", "connection"): "Nova's cell database; corral uses [placement_database] connection",
    ("filter_scheduler", "pci_in_placement"): "read by nova-api and nova-conductor, which put "
    "the PCI request groups into the RequestSpec; nova-scheduler does not read it, and "
    "corral schedules the groups the RequestSpec carries",
    ("oslo_messaging_notifications", "retry"): f"corral tries a notification {NOTIFY_RETRY} "
    "more time(s) at most, so an unreachable bus never stalls a scheduling call",
    ("notifications", "notify_on_state_change"): "instance notifications are nova-compute's",
    ("notifications", "default_level"): "nova-scheduler's notifications are INFO",
    ("notifications", "bdms_in_notifications"): "instance notifications are nova-compute's",
    ("notifications", "include_share_mapping"): "instance notifications are nova-compute's",
}

IGNORED_SECTIONS: dict[str, str] = {
    "placement": "Nova's credentials for calling Placement; corral is the Placement service",
    "database": "Nova's cell database",
    "libvirt": "compute-node settings",
    "neutron": "Nova's Neutron client",
    "glance": "Nova's Glance client",
    "cinder": "Nova's Cinder client",
    "vnc": "console settings",
    "oslo_concurrency": "corral takes no external locks",
}

# Names of keys whose values are never printed, whoever owns them.
SECRET_WORDS = ("password", "secret", "token", "key", "transport_url", "connection")


def is_secret_name(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS)
