"""The search stage's rules from Nova: a check type keeps the host filters
on for forced hosts (HostManager.get_filtered_hosts)."""

from __future__ import annotations

from corral.scheduler.stages.search import check_type
from tests.unit.scheduler_fixtures import hints, make_spec


def test_check_type() -> None:
    assert check_type(make_spec(scheduler_hints=hints(_nova_check_type="rebuild")))
    assert not check_type(make_spec())
