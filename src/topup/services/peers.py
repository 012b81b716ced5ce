"""The outside parties the services talk to, handed in once by the process that runs them.

`topup.wiring` builds a `Peers` from the configuration when a web, worker or command process starts and
installs it here; services ask `current()` for the provider of a payment method or the carrier route of
a network. Services never build adapters, and adapters never import services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from topup.ports import (
    CardReader,
    CarrierGateway,
    CashAcceptor,
    PaymentProvider,
    SavedCardProvider,
    SmdpGateway,
)


class NotWired(RuntimeError):
    """A service ran before its process installed the peers (a start-up bug, never a customer's)."""


@dataclass(frozen=True)
class Peers:
    payments: Mapping[str, PaymentProvider]  # provider name -> adapter
    payment_routes: Mapping[str, str]  # payment method -> provider name
    carriers: Mapping[str, CarrierGateway]  # route name -> adapter (the direct gateway, an aggregator)
    carrier_routes: Mapping[str, str]  # network id -> route name; "*" is every other network
    smdp: SmdpGateway
    cash: CashAcceptor | None = None  # the kiosk's cash acceptor (its device service); None: no cash
    card_reader: CardReader | None = None  # the kiosk's card-present reader (Stripe Terminal)
    saved_cards: SavedCardProvider | None = None  # saved cards, off-session charges (auto top-up); None: none

    def payment_provider(self, name: str) -> PaymentProvider:
        return self.payments[name]

    def provider_name_for(self, method: str) -> str | None:
        """The provider a method goes through, or None if the method is not offered."""
        name = self.payment_routes.get(method)
        return name if name in self.payments else None

    def carrier_route(self, network_id: str) -> str:
        return self.carrier_routes.get(network_id) or self.carrier_routes["*"]

    def carrier(self, network_id: str) -> CarrierGateway:
        return self.carriers[self.carrier_route(network_id)]


_installed: list[Peers] = []


def install(peers: Peers) -> None:
    _installed[:] = [peers]


def installed() -> bool:
    return bool(_installed)


def current() -> Peers:
    if not _installed:
        raise NotWired("no peers installed: the process must call topup.wiring.start() first")
    return _installed[0]
