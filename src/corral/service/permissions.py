"""Config must be changeable by its owner only, and owned by root or the service user.

Whoever can write corral's config can point it at another database, turn
authentication off or raise its worker count, so a config file that its group
or the world can write, or that another user owns, is refused. The directory
holding it counts too: a writable directory lets anyone replace the file
(unless it is sticky, like /tmp, where only a file's owner may replace it).
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PermissionProblem:
    path: str
    mode: int
    message: str


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "no such user"


def _writers(mode: int) -> str | None:
    group = bool(mode & stat.S_IWGRP)
    other = bool(mode & stat.S_IWOTH)
    if group and other:
        return "its group and everyone"
    if group:
        return "its group"
    if other:
        return "everyone"
    return None


def check_path(path: str, kind: str, *, service_uid: int) -> list[PermissionProblem]:
    """Problems with one config file or directory (`kind` names it in messages)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return [PermissionProblem(path, 0, f"{kind} {path} cannot be examined: {exc.strerror}")]
    mode = stat.S_IMODE(st.st_mode)
    problems: list[PermissionProblem] = []
    writers = _writers(mode)
    sticky_dir = stat.S_ISDIR(st.st_mode) and bool(mode & stat.S_ISVTX)
    if writers and not (sticky_dir and kind == "directory holding config file"):
        problems.append(
            PermissionProblem(
                path,
                mode,
                f"{kind} {path} has mode {mode:04o}: it is writable by {writers}; "
                f"corral refuses config that anyone but its owner can change "
                f"(run: chmod go-w {path})",
            )
        )
    if st.st_uid not in (0, service_uid):
        problems.append(
            PermissionProblem(
                path,
                mode,
                f"{kind} {path} (mode {mode:04o}) is owned by uid {st.st_uid} "
                f"({_user_name(st.st_uid)}); corral accepts config owned by root or by "
                f"the service user ({_user_name(service_uid)}, uid {service_uid}) only",
            )
        )
    return problems


def check_config_paths(
    files: list[str], dirs: list[str], *, service_uid: int | None = None
) -> list[PermissionProblem]:
    """Every config file, every --config-dir, and the directory holding each file."""
    uid = os.geteuid() if service_uid is None else service_uid
    problems: list[PermissionProblem] = []
    seen: set[str] = set()

    def check(path: str, kind: str) -> None:
        key = os.path.realpath(path)
        if key in seen:
            return
        seen.add(key)
        problems.extend(check_path(path, kind, service_uid=uid))

    for directory in dirs:
        check(directory, "config directory")
    for path in files:
        check(path, "config file")
    for path in files:
        check(str(Path(os.path.realpath(path)).parent), "directory holding config file")
    return problems
