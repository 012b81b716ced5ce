"""Reminder rules: what a bundle earns, which one goes, when it may go (Brussels time), the plan offered,
and the SMS words that turn reminders off and on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.catalogue import Plan, PlanKind
from topup.domain.commands import CommandKind, parse
from topup.domain.money import Money
from topup.domain.reminders import (
    ReminderKind,
    due,
    earliest_send,
    is_quiet,
    local_day,
    most_urgent,
    renewal_plan,
)

BXL = ZoneInfo("Europe/Brussels")
K = ReminderKind


def _at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=BXL).astimezone(UTC)


def test_usage_reminders_at_75_and_90_percent() -> None:
    at = _at(1, 12)
    kwargs = {"data_kb": 1000, "validity_days": 30, "expires_at": at + timedelta(days=20), "at": at}
    assert due(used_kb=749, **kwargs) == ()  # type: ignore[arg-type]
    assert due(used_kb=750, **kwargs) == (K.USAGE_75,)  # type: ignore[arg-type]
    assert due(used_kb=900, **kwargs) == (K.USAGE_90, K.USAGE_75)  # type: ignore[arg-type]


def test_end_reminders_only_for_bundles_longer_than_their_window() -> None:
    at = _at(1, 12)
    ends = at + timedelta(days=2)
    assert due(used_kb=0, data_kb=None, validity_days=30, expires_at=ends, at=at) == (
        K.EXPIRY_3D,
        K.EXPIRY_7D,
    )
    assert due(used_kb=0, data_kb=None, validity_days=7, expires_at=ends, at=at) == (K.EXPIRY_3D,)
    assert due(used_kb=0, data_kb=None, validity_days=3, expires_at=ends, at=at) == ()
    assert due(used_kb=0, data_kb=None, validity_days=30, expires_at=at, at=at) == ()  # ended already


def test_the_most_urgent_goes() -> None:
    assert most_urgent([K.USAGE_75, K.EXPIRY_7D]) is K.EXPIRY_7D
    assert most_urgent([K.USAGE_90, K.EXPIRY_7D, K.USAGE_75]) is K.USAGE_90
    assert most_urgent([K.USAGE_90, K.EXPIRY_3D]) is K.EXPIRY_3D
    assert most_urgent([]) is None


@pytest.mark.parametrize(
    ("at", "last", "expected"),
    [
        (_at(3, 11), None, _at(3, 11)),  # day time: now
        (_at(3, 22), None, _at(4, 8)),  # 22:00 is night already
        (_at(3, 23, 59), None, _at(4, 8)),
        (_at(4, 3), None, _at(4, 8)),  # after midnight: this morning
        (_at(4, 7, 59), None, _at(4, 8)),
        (_at(4, 8), None, _at(4, 8)),
        (_at(3, 15), _at(3, 11), _at(4, 8)),  # one went today: tomorrow morning
        (_at(3, 23), _at(3, 11), _at(4, 8)),
        (_at(4, 3), _at(3, 11), _at(4, 8)),  # yesterday's does not count
        (_at(28, 1, month=3), None, _at(28, 8, month=3)),  # the night summer time starts
        (_at(31, 23, month=10), None, _at(1, 8, month=11)),  # the night winter time starts
    ],
)
def test_earliest_send(at: datetime, last: datetime | None, expected: datetime) -> None:
    assert earliest_send(at, last, BXL) == expected


NAIVE_FROM, NAIVE_TO = datetime(2026, 1, 1), datetime(2030, 1, 1)  # noqa: DTZ001 - hypothesis wants naive bounds


@given(
    st.datetimes(min_value=NAIVE_FROM, max_value=NAIVE_TO, timezones=st.just(UTC)),
    st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))),
)
def test_never_at_night_never_twice_a_day(at: datetime, since_last: timedelta | None) -> None:
    last = at - since_last if since_last is not None else None
    send = earliest_send(at, last, BXL)
    assert send >= at
    assert not is_quiet(send, BXL)
    if last is not None:
        assert local_day(send, BXL) > local_day(last, BXL)
    assert send - at <= timedelta(days=2)


def _plan(plan_id: str, price: int, data_mb: int | None, unlimited: bool = False, network: str = "n") -> Plan:
    fair_use_mb = 100_000 if unlimited else None
    return Plan(plan_id, network, PlanKind.BUNDLE, plan_id, Money(price, "EUR"), data_mb=data_mb,
                unlimited=unlimited, validity_days=30, fair_use_mb=fair_use_mb)  # fmt: skip


def test_the_cheapest_bundle_with_at_least_as_much_data() -> None:
    small, five, twenty = _plan("s", 299, 1024), _plan("m", 999, 5120), _plan("l", 1999, 20480)
    unlimited, credit = (
        _plan("u", 3499, None, unlimited=True),
        Plan("c", "n", PlanKind.CREDIT, "c", Money(500, "EUR")),
    )
    elsewhere = _plan("x", 100, 50_000, network="other")
    offered = [twenty, unlimited, five, small, credit, elsewhere]
    assert renewal_plan(five, offered) == five
    assert renewal_plan(_plan("cur", 1, 6000), offered) == twenty
    assert renewal_plan(_plan("cur", 1, 30_000), offered) == unlimited  # only unlimited holds more
    assert renewal_plan(unlimited, [small, unlimited]) == unlimited
    assert renewal_plan(unlimited, [small, five]) == small  # nothing as big: the cheapest bundle
    assert renewal_plan(None, offered) == elsewhere  # no current plan: the cheapest bundle at all
    assert renewal_plan(five, [credit]) is None


@pytest.mark.parametrize(
    ("text", "argument", "language"),
    [
        ("REMINDERS OFF", "off", None),
        ("stop reminders", "off", None),
        ("START REMINDERS", "on", None),
        ("reminders on", "on", None),
        ("herinneringen uit", "off", "nl"),
        ("RAPPELS NON", "off", "fr"),
        ("Erinnerungen aus", "off", "de"),
        ("关闭提醒", "off", "zh-hans"),
        ("开启提醒", "on", "zh-hans"),
        ("提醒 关", "off", "zh-hans"),
        ("REMINDERS", "", None),
    ],
)
def test_reminder_words(text: str, argument: str, language: str | None) -> None:
    command = parse(text)
    assert (command.kind, command.argument, command.keyword_language) == (
        CommandKind.REMINDERS,
        argument,
        language,
    )


def test_stop_alone_is_not_a_reminders_word() -> None:
    assert parse("STOP").kind is CommandKind.HELP
