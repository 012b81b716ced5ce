"""Notes reported at the same moment: the session's row lock makes exactly one of them the note that pays,
and a report sent twice at once is counted once (run on PostgreSQL, where the threads really overlap)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kiosk import make_shop, print_to_file
from tests.support.race import at_once
from topup.clock import now
from topup.db.models import KioskCashEvent, KioskCashSession, Sale
from topup.services import kiosk_cash

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(seeded: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KioskCashSession:
    print_to_file(tmp_path, monkeypatch)
    shop = make_shop()
    return KioskCashSession.objects.create(
        id="kcs_race", terminal_id=shop.terminal_id, plan_id="proximus-credit-10", network_id="proximus",
        msisdn="+32470123456", language="en", price_minor=1_000, currency="EUR", status="open",
        created_at=now(),
    )  # fmt: skip


def test_of_notes_arriving_together_exactly_one_pays(session: KioskCashSession) -> None:
    def insert(event_id: str) -> str:
        answer = kiosk_cash.record_event(session.terminal_id, session.id, event_id, 1_000)
        return "stacked" if answer["accepted"] else str(answer["code"])

    outcomes = at_once(insert, [f"ev-{n}" for n in range(8)])
    assert sorted(outcomes) == ["cash_session_closed"] * 7 + ["stacked"]
    session.refresh_from_db()
    assert (session.status, session.inserted_minor) == ("paid", 1_000)
    assert Sale.objects.count() == 1
    assert KioskCashEvent.objects.filter(accepted=True).count() == 1


def test_one_report_sent_many_times_at_once_counts_once(session: KioskCashSession) -> None:
    def insert(_copy: int) -> str:
        answer = kiosk_cash.record_event(session.terminal_id, session.id, "ev-same", 500)
        return f"{answer['accepted']}:{answer['inserted_minor']}"

    assert set(at_once(insert, list(range(8)))) == {"True:500"}
    session.refresh_from_db()
    assert session.inserted_minor == 500
    assert KioskCashEvent.objects.count() == 1
