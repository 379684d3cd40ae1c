"""The one-line NoValidHost explanation and its JSON form."""

from __future__ import annotations

from corral.scheduler.explain import SUMMARY_REASONS, Explanation, RankedHost, StageReport


def test_summary_orders_reasons_largest_first_with_thousands_separators() -> None:
    explanation = Explanation(
        hosts_total=10_000,
        stages=(
            StageReport(
                "placement",
                10_000,
                200,
                {"not in AZ az2": 600, "lacked MEMORY_MB": 9_200},
            ),
            StageReport("ComputeFilter", 200, 0, {"disabled": 200}),
        ),
    )
    assert explanation.summary() == (
        "0/10,000 hosts available: 9,200 lacked MEMORY_MB, 600 not in AZ az2, 200 disabled"
    )


def test_same_reason_in_several_stages_is_summed() -> None:
    explanation = Explanation(
        hosts_total=1_500,
        stages=(
            StageReport("placement", 1_500, 700, {"disabled": 800}),
            StageReport("ComputeFilter", 700, 0, {"disabled": 300, "down": 400}),
        ),
    )
    assert explanation.reasons() == {"disabled": 1_100, "down": 400}
    assert explanation.summary() == "0/1,500 hosts available: 1,100 disabled, 400 down"


def test_ties_are_ordered_by_reason() -> None:
    explanation = Explanation(
        hosts_total=6,
        stages=(StageReport("placement", 6, 0, {"zeta": 2, "alpha": 2, "mid": 2}),),
    )
    assert explanation.summary() == "0/6 hosts available: 2 alpha, 2 mid, 2 zeta"


def test_reasons_past_the_shown_ones_fold_into_other() -> None:
    counts = {f"reason {chr(ord('a') + i)}": 1_000 - i for i in range(SUMMARY_REASONS + 3)}
    total = sum(counts.values())
    explanation = Explanation(
        hosts_total=total, stages=(StageReport("placement", total, 0, counts),)
    )
    shown = [f"{1_000 - i:,} reason {chr(ord('a') + i)}" for i in range(SUMMARY_REASONS)]
    rest = sum(1_000 - i for i in range(SUMMARY_REASONS, SUMMARY_REASONS + 3))
    assert explanation.summary() == (
        f"0/{total:,} hosts available: {', '.join(shown)}, {rest:,} other"
    )


def test_exactly_the_shown_number_of_reasons_has_no_other() -> None:
    counts = {f"r{i}": 10 + i for i in range(SUMMARY_REASONS)}
    explanation = Explanation(hosts_total=100, stages=(StageReport("p", 100, 0, counts),))
    assert "other" not in explanation.summary()


def test_zero_counts_are_not_shown() -> None:
    explanation = Explanation(
        hosts_total=3,
        stages=(StageReport("placement", 3, 0, {"lacked VCPU": 3, "disabled": 0}),),
    )
    assert explanation.summary() == "0/3 hosts available: 3 lacked VCPU"


def test_summary_with_available_hosts_and_no_reasons() -> None:
    explanation = Explanation(
        hosts_total=2_000,
        stages=(StageReport("placement", 2_000, 2_000),),
        hosts_available=2_000,
    )
    assert explanation.summary() == "2,000/2,000 hosts available"


def test_refusal_replaces_the_reasons() -> None:
    explanation = Explanation(
        hosts_total=12_345,
        stages=(StageReport("placement", 12_345, 0, {"lacked VCPU": 12_345}),),
        refusal="no aggregate is set aside for project p9",
    )
    assert explanation.summary() == (
        "0/12,345 hosts available: no aggregate is set aside for project p9"
    )


def test_to_dict_carries_the_summary_stages_and_ranking() -> None:
    stage = StageReport("RamFilter", 10, 7, {"b": 1, "a": 1, "c": 1})
    explanation = Explanation(
        hosts_total=10,
        stages=(stage,),
        ranked=(RankedHost("h1", "n1", "rp-1", 1.23456789),),
        hosts_available=7,
    )
    got = explanation.to_dict()
    assert got["summary"] == "7/10 hosts available: 1 a, 1 b, 1 c"
    assert got["hosts_total"] == 10 and got["hosts_available"] == 7
    assert got["refusal"] is None
    assert got["stages"] == [
        {
            "stage": "RamFilter",
            "hosts_in": 10,
            "hosts_out": 7,
            "removed": 3,
            "reasons": {"a": 1, "b": 1, "c": 1},
        }
    ]
    assert list(got["stages"][0]["reasons"]) == ["a", "b", "c"]
    assert got["ranked"] == [
        {"host": "h1", "node": "n1", "provider_uuid": "rp-1", "weight": 1.234568}
    ]
