"""Who is calling: the client's address as our own proxies saw it (`TOPUP_TRUSTED_PROXIES`).

Behind a proxy REMOTE_ADDR is the proxy; its X-Forwarded-For is believed only when REMOTE_ADDR is one of
our trusted proxies, and then only up to the first hop (from the right) that is not one of them: whatever a
client writes into the header itself sits to the left of that hop and is never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache

from django.http import HttpRequest

from topup.settings import CONFIG

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; a typo fails at start-up rather than trusting anyone."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


@cache
def _trusted() -> tuple[Network, ...]:
    return networks(CONFIG.trusted_proxies)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def in_networks(ip: str | None, allowed: tuple[Network, ...]) -> bool:
    address = _address(ip or "")
    return address is not None and any(address in network for network in allowed)


def forwarded_client(remote: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The rightmost X-Forwarded-For address that is not a trusted proxy, when `remote` is trusted."""
    if not trusted or not in_networks(remote, trusted):
        return remote
    client = remote
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if _address(hop) is None:
            break  # garbage in the header: keep the last hop a trusted proxy vouched for
        client = hop
        if not in_networks(hop, trusted):
            break
    return client


def client_ip(request: HttpRequest) -> str | None:
    """The real client address of `request` (None when the server gives none)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if not remote:
        return None
    return forwarded_client(remote, str(request.META.get("HTTP_X_FORWARDED_FOR", "")), _trusted())
