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
