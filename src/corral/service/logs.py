"""Logging for the launcher and its workers: stderr, one line per record, pid included."""

from __future__ import annotations

import logging

from oslo_config import cfg

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def setup(level: str) -> None:
    logging.basicConfig(format=FORMAT, level=level.upper(), force=True)


def level_for(conf: cfg.ConfigOpts) -> str:
    return "DEBUG" if conf.debug else str(conf.log_level).upper()


def apply(conf: cfg.ConfigOpts) -> None:
    """Set the level from [DEFAULT] debug / log_level (also after SIGHUP)."""
    logging.getLogger().setLevel(level_for(conf))
