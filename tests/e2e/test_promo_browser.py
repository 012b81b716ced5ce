"""A Dutch top-up with the promo code FLYER5 in a real browser at 360 px: `topup serve` on a fresh demo
database, then `node tests/browser/promo.mjs`: the code applied on the review step, paid on the payment
simulator's checkout, the saving on the order page once delivered. Screenshots: artifacts/screenshots/promo-*.

Skipped when chromium or node_modules are missing (except under CI=true), and while the demo seeds no FLYER5
campaign (the promotion engine's seed): the journey then says so instead of failing on a missing campaign.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_stack import ARTIFACTS, serving
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

JOURNEY = ROOT / "tests" / "browser" / "promo.mjs"
CODE = "FLYER5"
# Asks the demo's own pricing whether FLYER5 takes something off a €20 Proximus top-up.
PROBE = f"""
import django
django.setup()
from topup.domain.errors import DomainError
from topup.services import orders
try:
    wanted = orders.QuoteRequest("proximus-credit-20", msisdn="+32470123459", promo_code="{CODE}")
    quote = orders.quote(wanted)
except DomainError as error:
    print("refused", error.code)
else:
    print("applied" if any(p.code == "{CODE}" for p in quote.promotions) else "ignored")
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`topup serve` on a fresh demo database: the web URL and its settings."""
    with serving(tmp_path, "promo", {"DJANGO_SETTINGS_MODULE": "topup.settings"}) as server:
        yield server.base, server.env


def _flyer5_in_the_demo(env: dict[str, str]) -> str:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    return probe.stdout.strip() or f"probe failed: {probe.stderr.strip()[-500:]}"


def test_a_dutch_top_up_with_a_promo_code_in_a_browser(served: tuple[str, dict[str, str]]) -> None:
    base, env = served
    found = _flyer5_in_the_demo(env)
    assert found == "applied", f"the demo's {CODE} campaign does not apply to a €20 top-up ({found})"
    result = subprocess.run(
        ["node", str(JOURNEY), base, str(ARTIFACTS)], cwd=ROOT, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, f"promo journey failed:\n{result.stdout}\n{result.stderr}"
    order_id = result.stdout.split("ORDER ", 1)[1].split()[0]
    checked = subprocess.run(
        [sys.executable, "-c", BOOKS.replace("ORDER_ID", order_id)], env=env, cwd=ROOT, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "books ok" in checked.stdout, checked.stdout


# The order's ledger (promotion expense for what the promotions took off) and its
# Dutch receipt (each promotion named), read from the demo's own database after the journey.
BOOKS = """
import django
django.setup()
from topup.db.models import Order, Transfer
from topup.domain.quotes import Quote
from topup.services import order_receipts, receipts
order = Order.objects.get(id="ORDER_ID")
quote = Quote.from_dict(order.quote)
assert {p.rule for p in quote.promotions} >= {"first_topup"}, quote.promotions
assert any(p.code == "FLYER5" for p in quote.promotions), quote.promotions
expense = Transfer.objects.filter(order_id=order.id, debit_account__id__startswith="promotion_expense:")
assert expense.exists(), "no promotion expense for the order"
text = receipts.render_text(order_receipts.order_receipt(order, "nl"))
assert "Welkom" in text and "FLYER5" in text, text
print("books ok", quote.discount, sum(t.amount_minor for t in expense))
"""
