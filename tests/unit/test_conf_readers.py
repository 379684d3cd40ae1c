"""No dead option: every option corral registers is read by some code.

An option that nothing reads tells an operator something works that does
not (DEVELOPERS.md: "A config option that nothing reads is a bug"), and
`corral check-config` would call it honoured. The check is textual: the
option's name must appear outside its own declaration (src/corral/conf) and
the config audit's notes, as an attribute (`conf.group.name`) or a string
literal (`conf[group]["name"]`, or a name in a table the code reads).
"""

from __future__ import annotations

import re
from pathlib import Path

from corral.conf import list_opts

SRC = Path(__file__).resolve().parents[2] / "src" / "corral"
NOT_READERS = ("conf/", "config_audit/notes.py")


def _reader_text() -> str:
    parts = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith(NOT_READERS):
            parts.append(path.read_text())
    return "\n".join(parts)


def test_every_registered_option_has_a_reader() -> None:
    text = _reader_text()
    dead = []
    for group, opts in list_opts():
        for opt in opts:
            name = re.escape(opt.dest)
            if not re.search(rf"\.{name}\b|[\"']{name}[\"']", text):
                dead.append(f"[{group}] {opt.dest}")
    assert not dead, f"registered but read nowhere: {dead}"
