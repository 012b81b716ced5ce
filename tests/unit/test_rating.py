"""The usage API's batch rater (`domain/rating.py`) against the reference rules of `domain/usage.py`."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_usage import MB, T0, line_bundles, records_on
from topup.domain.bundles import Bundle, BundleStatus
from topup.domain.rating import BatchRating, rate_lines
from topup.domain.usage import OverageRule, UsageRecord, rate_batch

USABLE = {BundleStatus.ACTIVE, BundleStatus.PENDING}


def _fast(records: list[UsageRecord], bundles_by_line: dict[str, list[Bundle]]) -> BatchRating:
    by_line: dict[str, list[tuple[datetime, str, int, int]]] = {}
    for index, record in enumerate(records):
        by_line.setdefault(record.line_id, []).append((record.start, record.id, record.kb, index))
    usable = {line: [b for b in bs if b.status in USABLE] for line, bs in bundles_by_line.items()}
    return rate_lines(by_line, usable, len(records))


@settings(deadline=None)  # a shared machine can be slow; the rule, not the time, is tested here
@given(
    records=st.lists(records_on, max_size=40, unique_by=lambda r: r.id),
    a_bundles=line_bundles("ln_a"),
    b_bundles=line_bundles("ln_b"),
)
def test_batch_rater_agrees_with_the_reference_rules(
    records: list[UsageRecord], a_bundles: list[Bundle], b_bundles: list[Bundle]
) -> None:
    bundles_by_line = {"ln_a": a_bundles, "ln_b": b_bundles}
    reference = rate_batch(
        records, bundles_by_line, {}, overage=OverageRule.REFUSE, price_per_mb_minor=0, at=T0
    )
    fast = _fast(records, bundles_by_line)
    outcome = {r.record_id: (r.drawn_kb, r.refused_kb) for r in reference}
    assert [(fast.drawn_kb[i], fast.refused_kb[i]) for i in range(len(records))] == [
        outcome[record.id] for record in records
    ]
    latest = {bundle.id: bundle for rating in reference for bundle in rating.updated_bundles}
    assert {bundle.id: bundle for bundle in fast.bundles} == latest
    assert fast.activated == [bundle_id for rating in reference for bundle_id in rating.activated]
    assert Counter(fast.threshold_events) == Counter(
        (rating.line_id, bundle_id, percent)
        for rating in reference
        for bundle_id, percent in rating.threshold_events
    )


@settings(deadline=None)
@given(
    records=st.lists(records_on, max_size=40, unique_by=lambda r: r.id),
    a_bundles=line_bundles("ln_a"),
)
def test_a_bundle_never_goes_past_its_cap_and_kilobytes_are_conserved(
    records: list[UsageRecord], a_bundles: list[Bundle]
) -> None:
    fast = _fast(records, {"ln_a": a_bundles, "ln_b": []})
    for i, record in enumerate(records):
        assert fast.drawn_kb[i] + fast.refused_kb[i] == record.kb
        assert min(fast.drawn_kb[i], fast.refused_kb[i]) >= 0
        if record.line_id == "ln_b":
            assert fast.refused_kb[i] == record.kb  # a line without bundles: everything refused
    before = {b.id: b.used_kb for b in a_bundles}
    drawn_a = sum(fast.drawn_kb[i] for i, r in enumerate(records) if r.line_id == "ln_a")
    assert sum(b.used_kb - before[b.id] for b in fast.bundles) == drawn_a
    for bundle in fast.bundles:
        assert before[bundle.id] <= bundle.used_kb <= bundle.cap_kb


def test_an_offset_other_than_utc_is_the_same_instant() -> None:
    brussels = timezone(timedelta(hours=1))
    bundle = Bundle(
        "b1", "ln_a", "p", 10 * MB, 0, None, 7, T0 - timedelta(days=1), T0 - timedelta(days=1),
        T0 + timedelta(hours=1), BundleStatus.ACTIVE,
    )  # fmt: skip
    # 01:30 in Brussels is 00:30 UTC: half an hour before the bundle expires at T0 + 1 h.
    before = datetime(T0.year, T0.month, T0.day, T0.hour + 1, 30, tzinfo=brussels)
    after = datetime(T0.year, T0.month, T0.day, T0.hour + 1, 30, tzinfo=UTC)
    fast = rate_lines({"ln_a": [(before, "r1", 100, 0), (after, "r2", 100, 1)]}, {"ln_a": [bundle]}, 2)
    assert (fast.drawn_kb, fast.refused_kb) == ([100, 0], [0, 100])
