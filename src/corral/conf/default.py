"""[DEFAULT]: messaging, service liveness and logging."""

from __future__ import annotations

from oslo_config import cfg

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

OPTS = [
    cfg.StrOpt(
        "transport_url",
        secret=True,
        help="oslo.messaging URL (rabbit://user:pass@host:5672/). When set, "
        "`corral serve` also starts the RPC workers on [scheduler] topic.",
    ),
    cfg.StrOpt(
        "host",
        regex=r"^[A-Za-z0-9_.\-]{1,255}$",
        max_length=255,
        help="Name of this machine on the message bus: the RPC workers' server "
        "name (Nova's [DEFAULT] host). Default: the machine's host name.",
    ),
    cfg.StrOpt(
        "control_exchange",
        default="nova",
        regex=r"^[A-Za-z0-9_.\-]{1,255}$",
        max_length=255,
        help="Message bus exchange of the scheduler topic: Nova's, `nova`, unless "
        "the Nova deployment changed it.",
    ),
    cfg.IntOpt(
        "executor_thread_pool_size",
        default=64,
        min=1,
        max=1024,
        help="Messages an RPC worker handles at once (oslo.messaging's option of "
        "this name). select_destinations calls that arrive together are decided "
        "together in the next round ([scheduler] decision_round_size) and wait "
        "without holding a database connection, so this may exceed "
        "[placement_database] max_pool_size.",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        max=3600,
        help="Seconds without a heartbeat after which a compute service counts as down.",
    ),
    cfg.StrOpt(
        "default_availability_zone",
        default="nova",
        max_length=255,
        help="Availability zone of the compute hosts that are in no aggregate "
        "with `availability_zone` metadata.",
    ),
    cfg.BoolOpt(
        "debug",
        default=False,
        mutable=True,
        help="Log at DEBUG, whatever log_level says. Re-read on SIGHUP.",
    ),
    cfg.StrOpt(
        "log_level",
        default="INFO",
        choices=LOG_LEVELS,
        ignore_case=True,
        mutable=True,
        help="Level of corral's log. Re-read on SIGHUP.",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)
