"""Topup's Stripe webhook subscription is named once: `topup serve` and the README give the same list."""

from __future__ import annotations

import re
from pathlib import Path

from topup.adapters.payments.stripe import WEBHOOK_EVENTS
from topup.serve import children_for
from topup.settings import CONFIG

README = Path(__file__).resolve().parents[2] / "README.md"


def test_serve_starts_the_payment_simulator_subscribed_to_the_adapters_events() -> None:
    [payments] = [c for c in children_for(CONFIG) if c.name == "payments simulator"]
    flag = payments.argv.index("--webhook-events")
    assert payments.argv[flag + 1].split(",") == list(WEBHOOK_EVENTS)


def test_the_readme_tells_the_operator_exactly_the_adapters_events() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("**The webhook endpoint's events**", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert block is not None
    assert block.group(1).split() == list(WEBHOOK_EVENTS)
