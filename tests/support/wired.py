"""The peers the tests hand to the services: the configuration's, with simulators' addresses as fixtures
start them (each fixture adds its own; the others keep theirs)."""

from __future__ import annotations

from topup import wiring
from topup.services import peers

_addresses: dict[str, str] = {}


def point(**addresses: str) -> peers.Peers:
    """Rebuild and install the peers with these addresses (payments=, carriers=, smdp=) added."""
    _addresses.update(addresses)
    return wiring.start(messaging=False, **_addresses)


def current_addresses() -> dict[str, str]:
    """The simulators' addresses the tests installed so far."""
    return dict(_addresses)
