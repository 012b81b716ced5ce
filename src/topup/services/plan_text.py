"""Plan and network names as a customer reads or hears them, in their language: the one place every channel
(web, SMS, USSD, IVR, e-mail, receipts, the agent console) takes a plan's title and a network's brand from."""

from __future__ import annotations

from topup.domain.errors import NotFound
from topup.services import catalogue


def plan_title(plan_id: str, language: str) -> str:
    """The plan's title in `language` (a plan no longer on sale keeps its stored name)."""
    del language  # translated titles: issue #11, item 7
    return catalogue.plan_name(plan_id)


def network_brand(network_id: str) -> str:
    """The network's brand as customers know it ("Orange Belgium", "BASE"), never its id."""
    try:
        return catalogue.network_by_id(network_id).name
    except NotFound:
        return network_id
