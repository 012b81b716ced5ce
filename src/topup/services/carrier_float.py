"""The carrier routes' prepaid floats (an aggregator sells only while our balance there lasts), watched.

A sweep reads each route's `float_balance()` at most every `CHECK_INTERVAL_S`, keeps the last reading in
`carrier_float` (so /metrics, `topup.metrics.scrape`, shows the same gauge in every process), and logs one
ERROR line `alert=carrier_float_low` per reading below the route's threshold. A direct gateway has no float
(None).
"""

from __future__ import annotations

import logging
import time
from typing import Final

from topup.clock import now
from topup.db.models import CarrierFloatRecord
from topup.ports import PortUnavailable
from topup.services import peers
from topup.settings import CONFIG

log = logging.getLogger(__name__)

CHECK_INTERVAL_S: Final = 60.0
_last_check: list[float] = []


def alert_below_minor(route: str) -> int:
    """The threshold of a route's float: TOPUP_<ROUTE>_FLOAT_ALERT_MINOR (DT One's only, for now)."""
    return CONFIG.dtone_float_alert_minor if route == "dtone" else 0


def check_floats(*, force: bool = False) -> list[CarrierFloatRecord]:
    """Read every route's float (unless one was read less than CHECK_INTERVAL_S ago); alert when low."""
    if not peers.installed() or (
        not force and _last_check and time.monotonic() - _last_check[0] < CHECK_INTERVAL_S
    ):
        return []
    _last_check[:] = [time.monotonic()]
    readings = []
    for route, gateway in sorted(peers.current().carriers.items()):
        try:
            available = gateway.float_balance()
        except PortUnavailable as exc:
            log.warning("float of carrier route %s could not be read: %s", route, exc)
            continue
        if available is None:
            continue
        threshold = alert_below_minor(route)
        reading, _ = CarrierFloatRecord.objects.update_or_create(
            route=route,
            defaults={"available_minor": available.amount_minor, "currency": available.currency,
                      "alert_below_minor": threshold, "read_at": now()},
        )  # fmt: skip
        if available.amount_minor < threshold:
            log.error(
                "alert=carrier_float_low route=%s available %s is below %d minor units: top it up, "
                "or its sales wait and then are refunded",
                route, available, threshold,
            )  # fmt: skip
        readings.append(reading)
    return readings
