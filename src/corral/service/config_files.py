"""Which config files a command reads, their raw contents, and the parsed ConfigOpts.

The raw view (oslo.config's own INI parser, so it reads exactly what the
options are read from) lets validation quote the value an operator wrote when
oslo.config rejects it, and name keys that no corral option reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from oslo_config import cfg

from corral.conf import DEFAULT_CONFIG_FILE, new_conf

# section -> key -> values, in file order (a key may repeat: MultiStrOpt).
RawSections = dict[str, dict[str, list[str]]]


@dataclass(frozen=True)
class ConfigSource:
    """--config-file / --config-dir as given; the default file when neither is."""

    files: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()
    use_default: bool = True

    def resolved_files(self) -> list[str]:
        files = list(self.files)
        if not files and not self.dirs and self.use_default and os.path.exists(DEFAULT_CONFIG_FILE):
            files = [DEFAULT_CONFIG_FILE]
        return files

    def dir_files(self) -> list[str]:
        """The files oslo.config reads from each --config-dir: *.conf, sorted."""
        out: list[str] = []
        for directory in self.dirs:
            out.extend(sorted(str(p) for p in Path(directory).glob("*.conf")))
        return out

    def all_files(self) -> list[str]:
        return self.resolved_files() + self.dir_files()


@dataclass
class LoadedConfig:
    conf: cfg.ConfigOpts
    source: ConfigSource
    raw: RawSections = field(default_factory=dict)
    # (file, section, key) for every key seen, for "which file said this".
    origins: dict[tuple[str, str], str] = field(default_factory=dict)


class ConfigLoadError(Exception):
    """A file that cannot be read or parsed; the message names it."""


def read_raw(paths: list[str]) -> tuple[RawSections, dict[tuple[str, str], str]]:
    merged: RawSections = {}
    origins: dict[tuple[str, str], str] = {}
    for path in paths:
        sections: RawSections = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except OSError as exc:
            raise ConfigLoadError(f"cannot read config file {path}: {exc.strerror}") from None
        except cfg.ParseError as exc:
            raise ConfigLoadError(f"cannot parse config file {path}: {exc}") from None
        for section, keys in sections.items():
            target = merged.setdefault(section, {})
            for key, values in keys.items():
                target.setdefault(key, []).extend(values)
                origins[(section, key)] = path
    return merged, origins


def load(source: ConfigSource) -> LoadedConfig:
    """Parse the config; values are checked later (validation), not here."""
    for directory in source.dirs:
        if not os.path.isdir(directory):
            raise ConfigLoadError(f"config directory {directory} does not exist")
    for path in source.resolved_files():
        if not os.path.isfile(path):
            raise ConfigLoadError(f"config file {path} does not exist")
    raw, origins = read_raw(source.all_files())
    conf = new_conf()
    try:
        conf(
            [],
            project="corral",
            default_config_files=source.resolved_files(),
            default_config_dirs=list(source.dirs),
            validate_default_values=True,
        )
    except cfg.Error as exc:
        raise ConfigLoadError(f"cannot load config: {exc}") from None
    return LoadedConfig(conf=conf, source=source, raw=raw, origins=origins)
