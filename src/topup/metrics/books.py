"""The ledger's balance as a gauge, computed by the sweep that rolls the ledger up, never by a scrape.

Read from the rolled-up account totals plus the few transfers not folded in yet (a partial index holds
them), as `ledger_books.trial_balance` does minus its check against every posted transfer (a full scan):
debits minus credits, per currency, must be 0. At most once a minute: the account table grows with lines.
"""

from __future__ import annotations

import time
from typing import Final

from django.db import connection

from topup.metrics import series

EVERY_S: Final = 60.0
_last: list[float] = []

_IMBALANCE_SQL: Final = """
SELECT currency, SUM(d) - SUM(c) FROM (
  SELECT currency, debits_posted AS d, credits_posted AS c FROM ledger_account
  UNION ALL
  SELECT t.currency,
         CASE WHEN da.no_overdraft THEN 0 ELSE t.amount_minor END,
         CASE WHEN ca.no_overdraft THEN 0 ELSE t.amount_minor END
  FROM ledger_transfer t
  JOIN ledger_account da ON da.id = t.debit_account_id
  JOIN ledger_account ca ON ca.id = t.credit_account_id
  WHERE t.rollup_pending AND t.status = 'posted'
) books GROUP BY currency ORDER BY currency
"""


def imbalance() -> dict[str, int]:
    """Debits minus credits per currency over the rolled-up books (0 everywhere when they balance)."""
    with connection.cursor() as cursor:
        cursor.execute(_IMBALANCE_SQL)
        return {str(currency): int(net or 0) for currency, net in cursor.fetchall()}


def publish(*, force: bool = False) -> bool:
    """Set the ledger gauges (a sweep calls it after the roll-up); False if it ran less than a minute ago."""
    started = time.monotonic()
    if _last and started - _last[0] < EVERY_S and not force:
        return False
    _last[:] = [started]
    for currency, net in imbalance().items():
        series.LEDGER_IMBALANCE_MINOR.labels(currency).set(net)
    series.LEDGER_CHECKED_SECONDS.set_to_current_time()
    return True
