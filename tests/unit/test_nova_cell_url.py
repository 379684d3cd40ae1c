"""Templated cell database URLs, filled in as Nova's CellMapping.format_db_url
does (expected values are what Nova 34's CellMapping._format_url returns)."""

from __future__ import annotations

import pytest

from corral.store.nova_db.reader import NovaDatabaseError, format_cell_url, read_only_engine


@pytest.mark.parametrize(
    ("template", "default", "expected"),
    [
        (
            "mysql+pymysql://{username}:{password}@{hostname}:{port}/nova_cell1?{query}",
            "mysql+pymysql://u:p%40w@db.example.com:3307/nova_api?charset=utf8",
            "mysql+pymysql://u:p%40w@db.example.com:3307/nova_cell1?charset=utf8",
        ),
        (
            "{scheme}://{username}:{password}@{hostname}/{path}_cell1",
            "postgresql://nova:s3@pg/nova",
            "postgresql://nova:s3@pg/nova_cell1",
        ),
        (
            "mysql://{username1}:{password1}@{hostname2}:{port2}/c",
            "mysql://a:b@h1:1,c:d@h2:2/x",
            "mysql://a:b@h2:2/c",
        ),
        ("mysql://{hostname}/{fragment}", "mysql://h/x#frag", "mysql://h/frag"),
        # Not a template, or one that does not format: as it is.
        ("mysql://plain@h/c", "mysql://u:p@h/api", "mysql://plain@h/c"),
        ("mysql://{nope}/x", "mysql://h/x", "mysql://{nope}/x"),
    ],
)
def test_format_cell_url_as_nova(template: str, default: str, expected: str) -> None:
    assert format_cell_url(template, default) == expected


def test_a_template_that_did_not_format_is_refused_without_its_password() -> None:
    with pytest.raises(NovaDatabaseError) as raised:
        read_only_engine("mysql+pymysql://u:hidden-pw@{nope}/x")
    assert "hidden-pw" not in str(raised.value)
