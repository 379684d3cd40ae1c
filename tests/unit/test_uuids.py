"""corral.uuids: oslo's is_uuid_like, and the canonical form the RPC decoder demands."""

from __future__ import annotations

import pytest

from corral.uuids import is_canonical_uuid, is_uuid_like

CANONICAL = "8f3c2b1a-0d4e-4f5a-9b6c-7d8e9f0a1b2c"


@pytest.mark.parametrize(
    "value",
    [
        CANONICAL,
        CANONICAL.upper(),
        CANONICAL.replace("-", ""),
        "{" + CANONICAL + "}",
        "urn:uuid:" + CANONICAL,
        "8f3c2b1a0d4e-4f5a-9b6c7d8e9f0a1b2c",
    ],
)
def test_uuid_like_accepts_what_oslo_accepts(value: str) -> None:
    assert is_uuid_like(value)


@pytest.mark.parametrize(
    "value", ["", "not-a-uuid", CANONICAL[:-1], CANONICAL + "0", 42, None, b"x" * 16]
)
def test_uuid_like_refuses_the_rest(value: object) -> None:
    assert not is_uuid_like(value)


def test_canonical_is_the_dashed_form_only() -> None:
    assert is_canonical_uuid(CANONICAL) and is_canonical_uuid(CANONICAL.upper())
    for value in (CANONICAL.replace("-", ""), "{" + CANONICAL + "}", "urn:uuid:" + CANONICAL, 7):
        assert not is_canonical_uuid(value)
