"""Every corral option, registered statically here, typed and bounded.

Where Nova or Placement has an option with the same meaning, corral uses the
same group and name so operators can reuse their config.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import opts as policy_opts

from corral.conf import (
    api,
    database,
    default,
    notifications,
    nova_database,
    placement,
    scheduler,
)

GROUP_MODULES = (default, api, database, nova_database, placement, scheduler, notifications)

DEFAULT_CONFIG_FILE = "/etc/corral/corral.conf"


def new_conf() -> cfg.ConfigOpts:
    """A fresh ConfigOpts with every corral option registered."""
    conf = cfg.ConfigOpts()
    for module in GROUP_MODULES:
        module.register(conf)
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    policy_opts.set_defaults(conf, policy_file="policy.yaml")
    # oslo.config can pull options from "alternative sources" named in
    # `config_source`, loading a driver by that name (one fetches a URL).
    # corral reads local files only; validation reports the option as an error.
    conf.set_override("config_source", [])
    return conf


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """(group name, options) for every group corral registers itself, in doc order."""
    conf = new_conf()
    out: list[tuple[str, list[cfg.Opt]]] = []
    # Policy options are oslo.policy's own and documented there.
    skip = {"config_source", "shell_completion"}
    defaults = [info["opt"] for name, info in conf._opts.items() if name not in skip]
    out.append(("DEFAULT", defaults))
    for name, group in conf._groups.items():
        if name == "oslo_policy":
            continue
        out.append((name, [info["opt"] for info in group._opts.values()]))
    return out
