"""Rating usage against a hosted line's bundles: order of drawing, activation, overage, batches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.bundles import Bundle, BundleStatus
from topup.domain.errors import Conflict, InvalidInput
from topup.domain.usage import (
    OverageRule,
    Rating,
    UsageRecord,
    apply_ratings,
    kb_from_bytes,
    rate,
    rate_batch,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LINE = "ln_1"
MB = 1024


def _active(
    bundle_id: str,
    expires_in_days: int,
    data_kb: int | None = 10 * MB,
    *,
    used_kb: int = 0,
    fair_use_kb: int | None = None,
    line_id: str = LINE,
    starts_at: datetime = T0 - DAY,
) -> Bundle:
    return Bundle(
        id=bundle_id,
        line_id=line_id,
        plan_id="plan",
        data_kb=data_kb,
        used_kb=used_kb,
        fair_use_kb=fair_use_kb,
        validity_days=30,
        purchased_at=starts_at,
        starts_at=starts_at,
        expires_at=T0 + expires_in_days * DAY,
        status=BundleStatus.ACTIVE,
    )


def _pending(bundle_id: str, data_kb: int = 10 * MB, purchased_at: datetime = T0 - DAY) -> Bundle:
    return Bundle(
        bundle_id, LINE, "plan", data_kb, 0, None, 7, purchased_at, None, None, BundleStatus.PENDING
    )


def _record(kb: int, record_id: str = "u1", start: datetime = T0, line_id: str = LINE) -> UsageRecord:
    return UsageRecord(record_id, line_id, kb, start, start + timedelta(minutes=5))


def _rate(
    record: UsageRecord,
    bundles: list[Bundle],
    credit: int = 0,
    overage: OverageRule = OverageRule.REFUSE,
    price: int = 100,
) -> Rating:
    return rate(record, bundles, credit_minor=credit, overage=overage, price_per_mb_minor=price, at=T0 + DAY)


# --- records -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "kb"), [(0, 0), (1, 1), (1023, 1), (1024, 1), (1025, 2), (10 * 1024 + 1, 11)])
def test_bytes_round_up_to_started_kilobytes(n: int, kb: int) -> None:
    assert kb_from_bytes(n) == kb


def test_negative_bytes_are_refused() -> None:
    with pytest.raises(InvalidInput):
        kb_from_bytes(-1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: UsageRecord("u1", LINE, -1, T0, T0),
        lambda: UsageRecord("u1", LINE, 1, T0, T0 - timedelta(seconds=1)),
        lambda: UsageRecord("", LINE, 1, T0, T0),
    ],
)
def test_invalid_records_are_refused(build: object) -> None:
    assert callable(build)
    with pytest.raises(InvalidInput) as caught:
        build()
    assert caught.value.code == "invalid_usage_record"


def test_naive_record_times_are_refused() -> None:
    with pytest.raises(InvalidInput):
        UsageRecord("u1", LINE, 1, datetime(2025, 3, 1), T0)  # noqa: DTZ001


# --- drawing from bundles ----------------------------------------------------------------------------------


def test_soonest_expiring_bundle_is_drawn_first_then_the_next() -> None:
    late, soon = _active("late", 20), _active("soon", 5)
    rating = _rate(_record(12 * MB), [late, soon])
    assert rating.drawdowns == (("soon", 10 * MB), ("late", 2 * MB))
    assert (rating.refused_kb, rating.charged_kb, rating.charged_minor) == (0, 0, 0)
    by_id = {b.id: b for b in rating.updated_bundles}
    assert by_id["soon"].status == BundleStatus.EXHAUSTED
    assert (by_id["late"].used_kb, by_id["late"].status) == (2 * MB, BundleStatus.ACTIVE)
    assert apply_ratings([late, soon], [rating]) == [by_id["late"], by_id["soon"]]


def test_bundles_not_valid_at_the_record_start_are_not_drawn() -> None:
    expired_meanwhile = _active("old", 0)  # expires exactly at T0
    not_yet = _active("future", 10, starts_at=T0 + timedelta(hours=1))
    rating = _rate(_record(5), [expired_meanwhile, not_yet])
    assert (rating.drawdowns, rating.refused_kb) == ((), 5)


def test_unlimited_bundle_draws_against_fair_use_and_refuses_beyond() -> None:
    unlimited = _active("u", 10, data_kb=None, fair_use_kb=100 * MB, used_kb=99 * MB)
    rating = _rate(_record(3 * MB), [unlimited])
    assert rating.drawdowns == (("u", MB),)
    assert rating.refused_kb == 2 * MB
    assert rating.updated_bundles[0].status == BundleStatus.EXHAUSTED
    assert rating.threshold_events == (("u", 100),)


def test_pending_bundle_is_activated_only_when_active_ones_do_not_cover() -> None:
    active, pending = _active("a", 10, data_kb=MB), _pending("p")
    covered = _rate(_record(MB), [pending, active])
    assert (covered.activated, covered.drawdowns) == ((), (("a", MB),))
    spill = _rate(_record(MB + 5, start=T0 + timedelta(hours=2)), [pending, active])
    assert spill.activated == ("p",)
    assert spill.drawdowns == (("a", MB), ("p", 5))
    activated = next(b for b in spill.updated_bundles if b.id == "p")
    assert (activated.status, activated.starts_at, activated.expires_at, activated.used_kb) == (
        BundleStatus.ACTIVE, T0 + timedelta(hours=2), T0 + timedelta(hours=2) + 7 * DAY, 5,
    )  # fmt: skip


def test_pending_bundles_activate_oldest_purchase_first_and_not_before_purchase() -> None:
    older, newer = _pending("older", MB, T0 - 2 * DAY), _pending("newer", MB, T0 - DAY)
    after = _pending("after", MB, T0 + DAY)
    rating = _rate(_record(MB + 1), [after, newer, older])
    assert rating.activated == ("older", "newer")
    assert rating.drawdowns == (("older", MB), ("newer", 1))


def test_zero_usage_activates_nothing() -> None:
    rating = _rate(_record(0), [_pending("p")])
    assert rating == Rating("u1", LINE, (), (), 0, 0, 0, (), (), 0, T0 + DAY)


def test_thresholds_are_reported_once_across_records() -> None:
    bundles = [_active("b", 10, data_kb=100)]
    events: list[tuple[str, int]] = []
    for n, kb in enumerate((79, 1, 10, 10, 5)):
        rating = _rate(_record(kb, f"u{n}"), bundles)
        bundles = apply_ratings(bundles, [rating])
        events.extend(rating.threshold_events)
    assert events == [("b", 80), ("b", 100)]


def test_bundle_of_another_line_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        _rate(_record(1), [_active("b", 10, line_id="ln_2")])
    assert caught.value.code == "bundle_line_mismatch"


# --- overage -----------------------------------------------------------------------------------------------


def test_overage_is_charged_per_started_megabyte() -> None:
    rating = _rate(_record(MB + 1), [], credit=1_000, overage=OverageRule.CHARGE_CREDIT, price=100)
    assert (rating.charged_kb, rating.charged_minor, rating.refused_kb, rating.credit_minor_after) == (
        MB + 1, 200, 0, 800,
    )  # fmt: skip


def test_what_credit_cannot_pay_is_refused() -> None:
    rating = _rate(_record(5 * MB), [], credit=250, overage=OverageRule.CHARGE_CREDIT, price=100)
    assert (rating.charged_kb, rating.charged_minor, rating.refused_kb, rating.credit_minor_after) == (
        2 * MB, 200, 3 * MB, 50,
    )  # fmt: skip
    broke = _rate(_record(1), [], credit=99, overage=OverageRule.CHARGE_CREDIT, price=100)
    assert (broke.charged_minor, broke.refused_kb, broke.credit_minor_after) == (0, 1, 99)


def test_refuse_rule_never_touches_credit() -> None:
    rating = _rate(_record(5), [], credit=1_000, overage=OverageRule.REFUSE)
    assert (rating.refused_kb, rating.charged_minor, rating.credit_minor_after) == (5, 0, 1_000)


@pytest.mark.parametrize(("overage", "price"), [(OverageRule.CHARGE_CREDIT, 0), (OverageRule.REFUSE, -1)])
def test_bad_prices_are_refused(overage: OverageRule, price: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        _rate(_record(1), [], overage=overage, price=price)
    assert caught.value.code == "invalid_overage_price"


def test_negative_credit_is_refused() -> None:
    with pytest.raises(InvalidInput):
        _rate(_record(1), [], credit=-1)


# --- batches -----------------------------------------------------------------------------------------------


def test_batch_rates_each_line_in_start_then_id_order() -> None:
    records = [
        _record(6, "c", T0 + timedelta(hours=1)),
        _record(6, "b", T0),
        _record(6, "a", T0),
        _record(1, "z", T0, line_id="ln_0"),
    ]
    ratings = rate_batch(
        records,
        {LINE: [_active("b1", 10, data_kb=10)]},
        {},
        overage=OverageRule.REFUSE,
        price_per_mb_minor=0,
        at=T0 + DAY,
    )
    assert [(r.record_id, r.drawn_kb, r.refused_kb) for r in ratings] == [
        ("z", 0, 1), ("a", 6, 0), ("b", 4, 2), ("c", 0, 6),
    ]  # fmt: skip


def test_duplicate_record_ids_in_a_batch_are_a_conflict() -> None:
    with pytest.raises(Conflict) as caught:
        rate_batch([_record(1), _record(2)], {}, {}, overage=OverageRule.REFUSE, price_per_mb_minor=0, at=T0)
    assert caught.value.code == "duplicate_usage_record"


# --- properties --------------------------------------------------------------------------------------------


@st.composite
def line_bundles(draw: st.DrawFn, line_id: str = LINE) -> list[Bundle]:
    bundles = []
    statuses = [BundleStatus.ACTIVE] * 3 + [BundleStatus.EXPIRED, BundleStatus.EXHAUSTED]
    for n in range(draw(st.integers(0, 5))):
        unlimited = draw(st.booleans())
        cap = draw(st.integers(1, 20 * MB))
        purchased = T0 + timedelta(hours=draw(st.integers(-72, 48)))
        bundle = Bundle(
            id=f"{line_id}-b{n}",
            line_id=line_id,
            plan_id="p",
            data_kb=None if unlimited else cap,
            used_kb=draw(st.integers(0, cap)),
            fair_use_kb=cap if unlimited else None,
            validity_days=draw(st.integers(1, 30)),
            purchased_at=purchased,
            starts_at=purchased,
            expires_at=purchased + timedelta(hours=draw(st.integers(1, 24 * 10))),
            status=draw(st.sampled_from(statuses)),
        )
        if draw(st.integers(0, 3)) == 0:
            bundle = replace(bundle, used_kb=0, starts_at=None, expires_at=None, status=BundleStatus.PENDING)
        bundles.append(bundle)
    return bundles


records_on = st.builds(
    lambda kb, hours, rid, line: UsageRecord(
        f"u{rid}", line, kb, T0 + timedelta(hours=hours), T0 + timedelta(hours=hours, minutes=1)
    ),
    st.integers(0, 30 * MB),
    st.integers(-24, 24 * 5),
    st.integers(0, 10_000),
    st.sampled_from(["ln_a", "ln_b"]),
)
overages = st.sampled_from(OverageRule)
credits = st.integers(0, 5_000)
prices = st.integers(1, 500)


def _priority(bundle: Bundle) -> tuple[datetime, datetime, str]:
    assert bundle.expires_at is not None
    return bundle.expires_at, bundle.purchased_at, bundle.id


@given(record=records_on, bundles=line_bundles("ln_a"), credit=credits, overage=overages, price=prices)
def test_rating_conserves_kilobytes_and_bounds(
    record: UsageRecord, bundles: list[Bundle], credit: int, overage: OverageRule, price: int
) -> None:
    record = replace(record, line_id="ln_a")
    rating = rate(record, bundles, credit_minor=credit, overage=overage, price_per_mb_minor=price, at=T0)
    assert rating.drawn_kb + rating.charged_kb + rating.refused_kb == record.kb
    assert min((kb for _, kb in rating.drawdowns), default=1) > 0
    assert rating.charged_minor == -(-rating.charged_kb // MB) * price
    assert 0 <= rating.credit_minor_after == credit - rating.charged_minor
    if overage == OverageRule.REFUSE:
        assert rating.charged_kb == 0
    before = {b.id: b for b in bundles}
    drawn = dict(rating.drawdowns)
    assert len(drawn) == len(rating.drawdowns)  # each bundle drawn at most once per record
    for bundle in rating.updated_bundles:
        assert 0 <= bundle.used_kb <= bundle.cap_kb
        assert bundle.cap_kb == before[bundle.id].cap_kb
        assert bundle.used_kb == before[bundle.id].used_kb + drawn[bundle.id]
        assert (bundle.status == BundleStatus.EXHAUSTED) == (bundle.used_kb == bundle.cap_kb)


@given(record=records_on, bundles=line_bundles("ln_a"))
def test_rating_draws_soonest_expiring_first(record: UsageRecord, bundles: list[Bundle]) -> None:
    record = replace(record, line_id="ln_a")
    rating = rate(record, bundles, credit_minor=0, overage=OverageRule.REFUSE, price_per_mb_minor=0, at=T0)
    usable = sorted((b for b in bundles if b.is_usable(record.start)), key=_priority)
    # An independent model: take greedily from the usable bundles in priority order.
    needed, expected = record.kb, []
    for bundle in usable:
        if needed == 0:
            break
        take = min(needed, bundle.remaining_kb)
        expected.append((bundle.id, take))
        needed -= take
    assert list(rating.drawdowns[: len(expected)]) == expected
    if rating.activated:
        assert needed > 0  # pending bundles only when the active ones fell short
        assert [bundle_id for bundle_id, _ in rating.drawdowns[len(expected) :]] == list(rating.activated)
    else:
        assert len(rating.drawdowns) == len(expected)
        assert rating.refused_kb == needed


@given(
    records=st.lists(records_on, max_size=25, unique_by=lambda r: r.id),
    a_bundles=line_bundles("ln_a"),
    b_bundles=line_bundles("ln_b"),
    credit_a=credits,
    overage=overages,
    price=prices,
    data=st.data(),
)
def test_batch_is_deterministic_and_equals_rating_one_by_one(
    *,
    records: list[UsageRecord],
    a_bundles: list[Bundle],
    b_bundles: list[Bundle],
    credit_a: int,
    overage: OverageRule,
    price: int,
    data: st.DataObject,
) -> None:
    bundles_by_line = {"ln_a": a_bundles, "ln_b": b_bundles}
    credit_by_line = {"ln_a": credit_a}  # ln_b has no credit entry: zero

    def batch(items: list[UsageRecord]) -> list[Rating]:
        return rate_batch(
            items, bundles_by_line, credit_by_line, overage=overage, price_per_mb_minor=price, at=T0
        )

    first = batch(records)
    assert batch(records) == first
    assert batch(data.draw(st.permutations(records))) == first
    # The same records rated one at a time with `rate`, state folded by hand, in the documented order.
    state = {line: list(bs) for line, bs in bundles_by_line.items()}
    credit = {"ln_a": credit_a, "ln_b": 0}
    expected = []
    for record in sorted(records, key=lambda r: (r.line_id, r.start, r.id)):
        rating = rate(
            record,
            state[record.line_id],
            credit_minor=credit[record.line_id],
            overage=overage,
            price_per_mb_minor=price,
            at=T0,
        )
        state[record.line_id] = apply_ratings(state[record.line_id], [rating])
        credit[record.line_id] = rating.credit_minor_after
        expected.append(rating)
    assert first == expected
    for rating in first:
        assert rating.drawn_kb + rating.charged_kb + rating.refused_kb == next(
            r.kb for r in records if r.id == rating.record_id
        )
    for line, final in state.items():
        assert all(0 <= b.used_kb <= b.cap_kb for b in final)
        assert sum(b.used_kb for b in final) - sum(b.used_kb for b in bundles_by_line[line]) == sum(
            r.drawn_kb for r in first if r.line_id == line
        )


def test_equal_expiry_draws_the_earlier_purchase_then_the_smaller_id() -> None:
    expires = T0 + 5 * DAY
    later = replace(_active("a-later", 5), purchased_at=T0 - DAY, starts_at=T0 - DAY, expires_at=expires)
    earlier = replace(
        _active("z-earlier", 5), purchased_at=T0 - 2 * DAY, starts_at=T0 - DAY, expires_at=expires
    )
    twin = replace(earlier, id="y-earlier")
    rating = _rate(_record(25 * MB), [later, earlier, twin])
    assert [bundle_id for bundle_id, _ in rating.drawdowns] == ["y-earlier", "z-earlier", "a-later"]
