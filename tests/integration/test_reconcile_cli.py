"""`topup reconcile payments` and `topup reconcile carriers` answer alike when the outside party cannot be
reached: one line on stderr naming the command, the day and the party, exit 2 (not 1, "mismatches found"),
and no traceback."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace

import pytest

from tests.support import wired
from topup import cli, wiring
from topup.services import reconcile
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_address() -> str:
    """A loopback address where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _run(what: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main(["reconcile", what])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def rewired() -> Iterator[None]:
    """The test installs peers of its own; the tests' usual ones come back after it."""
    addresses = wired.current_addresses()
    try:
        yield
    finally:
        wired._addresses.clear()
        wired.point(**addresses)


def test_payments_with_the_provider_unreachable_is_one_line_and_exit_2(rewired: None) -> None:
    wiring.start(
        config=CONFIG, messaging=False, **{**wired.current_addresses(), "payments": _closed_address()}
    )
    code, out, err = _run("payments")
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith(f"reconcile payments {reconcile.today()}: the payment provider could not be read:")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_carriers_with_the_aggregator_unreachable_is_one_line_and_exit_2(rewired: None) -> None:
    config = replace(CONFIG, carrier_routes={"*": "gateway", "orange": "dtone"}, dtone_timeout_s=1.0)
    addresses = {**wired.current_addresses(), "dtone": _closed_address()}
    wiring.start(config=config, messaging=False, **addresses)
    code, out, err = _run("carriers")
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith(f"reconcile carriers {reconcile.today()}: the aggregator could not be read:")
    assert err.count("\n") == 1


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2026-02-30", "yesterday"])
@pytest.mark.parametrize("what", ["payments", "carriers"])
def test_a_day_the_books_cannot_hold_is_a_usage_error_not_a_traceback(what: str, day: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exited:
        cli.main(["reconcile", what, "--date", day])
    assert exited.value.code == 2
    assert "--date" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_the_day_the_clocks_go_back_is_asked_in_windows_of_at_most_24_hours() -> None:
    """2026-10-25 in Brussels lasts 25 hours; DVS lists at most 24 at a time (its simulator refuses more)."""
    from datetime import date, datetime  # noqa: PLC0415

    from topup.ports import CarrierTransaction  # noqa: PLC0415
    from topup.services import reconcile_carriers  # noqa: PLC0415

    asked: list[tuple[datetime, datetime]] = []

    class Ledger:
        def transactions(self, since: str, until: str) -> list[CarrierTransaction]:
            asked.append((datetime.fromisoformat(since), datetime.fromisoformat(until)))
            return []

    todays, _later = reconcile_carriers._sales(Ledger(), date(2026, 10, 25))  # type: ignore[arg-type]
    assert todays == []
    assert all(until - since <= reconcile_carriers.MAX_WINDOW for since, until in asked)
    start, end = reconcile_carriers._window(date(2026, 10, 25))
    assert (end - start).total_seconds() == 25 * 3600
    assert asked[:2] == [
        (start, start + reconcile_carriers.MAX_WINDOW),
        (start + reconcile_carriers.MAX_WINDOW, end),
    ]
