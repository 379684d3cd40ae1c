"""[api] and [cors]: the HTTP service."""

from __future__ import annotations

from oslo_config import cfg

api_group = cfg.OptGroup("api", title="HTTP API")

API_OPTS = [
    cfg.StrOpt(
        "auth_strategy",
        default="keystone",
        choices=[
            ("keystone", "validate tokens with Keystone (keystonemiddleware)"),
            ("noauth2", "trust `user[:project]` tokens; only on a loopback address"),
        ],
        help="How API callers are authenticated.",
    ),
    cfg.HostAddressOpt("bind_host", default="127.0.0.1", help="Address the API listens on."),
    cfg.PortOpt("bind_port", default=8778, help="Port the API listens on."),
    cfg.IntOpt(
        "max_request_body_bytes",
        default=4 * 1024 * 1024,
        min=1024,
        max=64 * 1024 * 1024,
        help="Largest accepted request body; larger bodies get 413.",
    ),
    cfg.IntOpt(
        "max_query_string_bytes",
        default=16 * 1024,
        min=256,
        max=1024 * 1024,
        help="Longest accepted query string; longer ones get 400.",
    ),
    cfg.IntOpt(
        "max_header_bytes",
        default=16 * 1024,
        min=4 * 1024,
        max=1024 * 1024,
        help="Largest accepted request line plus headers, in bytes; larger ones get 431. "
        "The HTTP server also stops buffering a header block at this size.",
    ),
    cfg.IntOpt(
        "workers",
        min=1,
        max=1024,
        help="API worker processes. Default: the CPU count, capped. A value outside "
        "1..cap is refused at start; the cap is min(4 x CPU count, available "
        "memory / 512 MiB).",
    ),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=30,
        min=1,
        max=3600,
        help="Seconds a worker waits for in-flight requests after SIGTERM before it cancels them.",
    ),
    cfg.IntOpt(
        "max_concurrent_requests",
        default=64,
        min=1,
        max=4096,
        help="Requests one API worker holds at once: being read, waiting for one of its "
        "[placement_database] max_pool_size handler threads, being handled or answered. "
        "Past it a request gets 503 with Retry-After: 1 at once, so an overload costs "
        "clients a retry, not unbounded latency or memory (each held request may hold "
        "up to max_request_body_bytes). /healthcheck and /metrics are neither counted "
        "nor refused.",
    ),
    cfg.ListOpt(
        "metrics_allowed_networks",
        default=["127.0.0.0/8", "::1/128"],
        help="Client networks (CIDR) that may read /metrics without a token; others "
        "get 403. Empty: nobody. Behind a proxy the proxy's address is what counts.",
    ),
]

cors_group = cfg.OptGroup("cors", title="Cross-origin resource sharing")

CORS_OPTS = [
    cfg.ListOpt("allowed_origin", default=[], help="Origins allowed to make CORS requests."),
    cfg.BoolOpt(
        "allow_credentials",
        default=True,
        help="Whether CORS responses allow credentials (cookies, auth headers).",
    ),
    # The defaults upstream Placement sets for oslo.middleware's CORS filter.
    cfg.ListOpt(
        "expose_headers",
        help="Response headers a CORS client may read.",
        default=[
            "X-Auth-Token",
            "X-Openstack-Request-Id",
            "X-Subject-Token",
            "X-Service-Token",
            "OpenStack-API-Version",
        ],
    ),
    cfg.IntOpt(
        "max_age",
        default=3600,
        min=0,
        max=86400,
        help="Seconds a browser may cache a CORS preflight answer.",
    ),
    cfg.ListOpt(
        "allow_methods",
        default=["GET", "PUT", "POST", "DELETE", "PATCH"],
        help="Methods allowed in CORS requests.",
    ),
    cfg.ListOpt(
        "allow_headers",
        help="Request headers a CORS client may send.",
        default=[
            "X-Auth-Token",
            "X-Openstack-Request-Id",
            "X-Identity-Status",
            "X-Roles",
            "X-Service-Catalog",
            "X-User-Id",
            "X-Tenant-Id",
            "OpenStack-API-Version",
        ],
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    # A group of its own per ConfigOpts: oslo.config only shallow-copies a registered
    # OptGroup, so confs sharing the module-level one would share its option table,
    # overrides included.
    conf.register_group(cfg.OptGroup(api_group.name, title=api_group.title))
    conf.register_opts(API_OPTS, group=api_group)
    conf.register_group(cfg.OptGroup(cors_group.name, title=cors_group.title))
    conf.register_opts(CORS_OPTS, group=cors_group)
