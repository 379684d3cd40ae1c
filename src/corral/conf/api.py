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
]

cors_group = cfg.OptGroup("cors", title="Cross-origin resource sharing")

CORS_OPTS = [
    cfg.ListOpt("allowed_origin", default=[], help="Origins allowed to make CORS requests."),
    cfg.BoolOpt("allow_credentials", default=True),
    cfg.ListOpt("expose_headers", default=[]),
    cfg.IntOpt("max_age", default=3600, min=0, max=86400),
    cfg.ListOpt("allow_methods", default=["GET", "PUT", "POST", "DELETE", "PATCH"]),
    cfg.ListOpt("allow_headers", default=[]),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_group(api_group)
    conf.register_opts(API_OPTS, group=api_group)
    conf.register_group(cors_group)
    conf.register_opts(CORS_OPTS, group=cors_group)
