"""Exchange rates: store what a feed published (once per currency, day and source) and put the yuan side
on the quote of an Alipay or WeChat Pay payer (topup.domain.fx decides the figures)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.db import transaction

from topup.clock import now
from topup.db.models import FxRateRecord
from topup.domain.fx import FX_CURRENCY, FX_METHODS, FxQuote, FxRate, fx_quote, parse_rate
from topup.domain.money import Money
from topup.domain.quotes import Quote
from topup.settings import CONFIG

log = logging.getLogger(__name__)
SOURCE = "ECB"


@dataclass(frozen=True)
class Imported:
    added: int
    unchanged: int
    corrected: int  # a rate published again for the same day with another figure (orders keep theirs)
    latest: FxRate | None  # the newest yuan rate now stored


def store_rates(rates: Sequence[FxRate]) -> Imported:
    """Keep each (currency, day, source) once: the same file imported twice changes nothing."""
    added = unchanged = corrected = 0
    at = now()
    with transaction.atomic():
        for rate in rates:
            text = str(rate.rate)
            row, created = FxRateRecord.objects.get_or_create(
                currency=rate.currency, rate_date=rate.rate_date, source=rate.source,
                defaults={"rate": text, "imported_at": at},
            )  # fmt: skip
            if created:
                added += 1
            elif parse_rate(row.rate) == rate.rate:
                unchanged += 1
            else:
                log.warning("%s %s rate of %s corrected: %s -> %s", rate.source, rate.currency,
                            rate.rate_date, row.rate, text)  # fmt: skip
                FxRateRecord.objects.filter(pk=row.pk).update(rate=text, imported_at=at)
                corrected += 1
    return Imported(added, unchanged, corrected, latest_rate(FX_CURRENCY))


def latest_rate(currency: str, source: str = SOURCE) -> FxRate | None:
    row = FxRateRecord.objects.filter(currency=currency, source=source).order_by("-rate_date").first()
    if row is None:
        return None
    return FxRate(row.currency, parse_rate(row.rate), row.rate_date, row.source)


def with_fx(quote: Quote, payment_method: str) -> Quote:
    """The quote with its yuan side when `payment_method` is Alipay or WeChat Pay; else unchanged.
    Raises Conflict(fx_rate_unavailable) when no rate recent enough is stored."""
    if payment_method not in FX_METHODS:
        return quote
    return replace(quote, fx=fx_for(quote.total, payment_method))


def for_attempt(quote: Quote, payment_method: str) -> Quote:
    """The frozen quote as a new payment attempt with `payment_method` pays it: a fresh yuan side for
    Alipay and WeChat Pay (the rate at this moment, the same rules as the first quote), none for any other
    method. Raises Conflict(fx_rate_unavailable) as `with_fx` does."""
    return replace(quote, fx=fx_for(quote.total, payment_method))


def claimed_with(quote: Quote) -> dict[str, object]:
    """What an idempotency claim keeps of the quote its first run priced: the yuan side, if any."""
    return {"fx": quote.fx.to_dict()} if quote.fx else {}


def as_first_run(quote: Quote, frozen: dict[str, object]) -> Quote:
    """A resumed claim pays with its first run's yuan quote (kept with the claim), not a rate imported
    since: the provider is asked the same amount under the same payment id (its idempotency key)."""
    first = frozen.get("fx")
    return quote if not isinstance(first, dict) else replace(quote, fx=FxQuote.from_dict(first))


def fx_for(total: Money, payment_method: str) -> FxQuote | None:
    """The yuan side of a EUR `total` for a payer with `payment_method` at this moment; None for a method
    whose payers are not shown yuan. Raises Conflict(fx_rate_unavailable) when no rate recent enough is
    stored."""
    if payment_method not in FX_METHODS:
        return None
    return fx_quote(
        total,
        latest_rate(FX_CURRENCY),
        markup_bp=CONFIG.fx_markup_bp,
        quoted_at=now().replace(microsecond=0),  # whole seconds: the payer reads a time, not a float
        ttl_s=CONFIG.fx_quote_ttl_s,
        max_age_days=CONFIG.fx_max_age_days,
        charge_currency=CONFIG.charge_currency.get(payment_method, "EUR"),
    )
