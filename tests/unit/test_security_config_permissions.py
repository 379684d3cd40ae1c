"""Config that anyone but its owner can change, or that another user owns, is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.conf.scheduler import DEFAULT_ENABLED_FILTERS
from corral.service.config_files import ConfigSource
from corral.service.launcher import ServeOptions, prepare
from corral.service.limits import compute_cap
from corral.service.permissions import check_config_paths
from corral.service.validation import PluginNames

CAP = compute_cap(cpus=2, available_bytes=4 * 1024**3)
NAMES = PluginNames(frozenset(DEFAULT_ENABLED_FILTERS), frozenset({"RAMWeigher"}))


def messages(files: list[Path], dirs: list[Path] | None = None) -> list[str]:
    opts = ServeOptions(
        source=ConfigSource(files=tuple(map(str, files)), dirs=tuple(map(str, dirs or [])))
    )
    plan, problems = prepare(opts, cap=CAP, names=NAMES)
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        assert plan is None  # refused before anything could start
    return errors


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)
    path = tmp_path / "corral.conf"
    path.write_text("[api]\nbind_port = 8778\n")
    path.chmod(0o640)
    return path


def test_owner_only_config_accepted(conf: Path) -> None:
    assert messages([conf]) == []


@pytest.mark.parametrize(
    ("mode", "who"),
    [(0o664, "its group"), (0o646, "everyone"), (0o666, "its group and everyone")],
)
def test_writable_config_file_refused(conf: Path, mode: int, who: str) -> None:
    conf.chmod(mode)
    assert messages([conf]) == [
        f"config file {conf} has mode {mode:04o}: it is writable by {who}; corral refuses "
        f"config that anyone but its owner can change (run: chmod go-w {conf})"
    ]


def test_writable_config_dir_refused(tmp_path: Path) -> None:
    confdir = tmp_path / "corral.conf.d"
    confdir.mkdir()
    (confdir / "10-api.conf").write_text("[api]\n")
    (confdir / "10-api.conf").chmod(0o600)
    confdir.chmod(0o777)
    assert messages([], [confdir]) == [
        f"config directory {confdir} has mode 0777: it is writable by its group and everyone; "
        f"corral refuses config that anyone but its owner can change (run: chmod go-w {confdir})"
    ]


def test_file_in_config_dir_checked(tmp_path: Path) -> None:
    confdir = tmp_path / "d"
    confdir.mkdir(mode=0o755)
    conf = confdir / "api.conf"
    conf.write_text("[api]\n")
    conf.chmod(0o666)
    assert messages([], [confdir]) == [
        f"config file {conf} has mode 0666: it is writable by its group and everyone; corral "
        f"refuses config that anyone but its owner can change (run: chmod go-w {conf})"
    ]


def test_writable_directory_holding_config_refused(tmp_path: Path) -> None:
    holder = tmp_path / "etc"
    holder.mkdir()
    conf = holder / "corral.conf"
    conf.write_text("")
    conf.chmod(0o600)
    holder.chmod(0o775)
    assert messages([conf]) == [
        f"directory holding config file {holder} has mode 0775: it is writable by its group; "
        f"corral refuses config that anyone but its owner can change (run: chmod go-w {holder})"
    ]
    # A sticky directory (like /tmp) lets nobody replace another user's file.
    holder.chmod(0o1777)
    assert messages([conf]) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_config_owned_by_another_user_refused(conf: Path) -> None:
    os.chown(conf, 65534, 65534)
    assert messages([conf]) == [
        f"config file {conf} (mode 0640) is owned by uid 65534 (nobody); corral accepts config "
        "owned by root or by the service user (root, uid 0) only"
    ]


def test_service_user_is_accepted_as_owner(conf: Path) -> None:
    uid = conf.stat().st_uid
    assert check_config_paths([str(conf)], [], service_uid=uid) == []
    others = check_config_paths([str(conf)], [], service_uid=uid + 4242)
    if uid != 0:
        assert others and "is owned by uid" in others[0].message
