"""Every corral option, registered statically here, typed and bounded.

Where Nova or Placement has an option with the same meaning, corral uses the
same group and name so operators can reuse their config.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import opts as policy_opts

from corral.conf import api, database, placement

GROUP_MODULES = (api, database, placement)


def new_conf() -> cfg.ConfigOpts:
    """A fresh ConfigOpts with every corral option registered."""
    conf = cfg.ConfigOpts()
    for module in GROUP_MODULES:
        module.register(conf)
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    policy_opts.set_defaults(conf, policy_file="policy.yaml")
    return conf
