"""The peers the tests hand to the services: the configuration's, with simulators' addresses as fixtures
start them (each fixture adds its own; the others keep theirs)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from topup import wiring
from topup.services import peers
from topup.settings import CONFIG, Config

_addresses: dict[str, str] = {}


def point(config: Config = CONFIG, **addresses: str) -> peers.Peers:
    """Rebuild and install the peers with these addresses (payments=, carriers=, smdp=) added, from
    `config` (a test may change a setting the adapters read when they are built)."""
    _addresses.update(addresses)
    return wiring.start(config=config, messaging=False, **_addresses)


@contextlib.contextmanager
def card_by_payment_method() -> Iterator[None]:
    """Cards confirmed with a Stripe test card (`TOPUP_STRIPE_CARD_FLOW=payment_method`) instead of a Checkout
    Session, for tests about attempts and refunds rather than about collecting the card."""
    point(dataclasses.replace(CONFIG, stripe_card_flow="payment_method"))
    try:
        yield
    finally:
        point()


def current_addresses() -> dict[str, str]:
    """The simulators' addresses the tests installed so far."""
    return dict(_addresses)
