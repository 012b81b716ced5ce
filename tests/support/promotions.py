"""A stand-in for the promotion engine's rules in channel tests: `orders.price` replaced by the real pricing
plus one known code, so that each channel's rendering of `quote.promotions` and its refusals are tested
independently of the demo's campaigns. The promotions it applies name campaign rows it creates, so that the
engine's reservation (services/promotions.reserve) runs for real when an order is placed. The engine's own
rules are tested with the engine (tests/integration/test_promotions*.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from topup.clock import now
from topup.db.models import Campaign, PromoCode
from topup.domain.errors import Conflict, InvalidInput
from topup.domain.money import Money, split_vat
from topup.domain.promotions import AppliedPromotion
from topup.domain.quotes import Quote, commission_of
from topup.services import fx, orders

CODE = "FLYER5"
USED_UP = "USEDUP"
SAVING_MINOR = 500
NAMES = (
    ("de", "Flyer: 5 € Rabatt"),
    ("en", "Flyer: €5 off"),
    ("fr", "Flyer : 5 € de remise"),
    ("nl", "Flyer: € 5 korting"),
    ("zh-hans", "传单优惠 减 5 欧元"),
)
WELCOME_NAMES = (("en", "Welcome bonus"), ("nl", "Welkomstbonus"), ("zh-hans", "欢迎奖励"))


def flyer(currency: str = "EUR") -> AppliedPromotion:
    return AppliedPromotion(
        campaign_id="cmp_flyer", rule="fixed", name="Flyer: €5 off", saving=Money(SAVING_MINOR, currency),
        code=CODE, names=NAMES,
    )  # fmt: skip


def welcome_bonus(currency: str = "EUR") -> AppliedPromotion:
    """An automatic promotion (no code) that adds data rather than saving money."""
    return AppliedPromotion(
        campaign_id="cmp_welcome", rule="bonus_data", name="Welcome bonus", saving=Money.zero(currency),
        bonus_data_mb=1024, names=WELCOME_NAMES,
    )  # fmt: skip


def with_promotions(quote: Quote, *promotions: AppliedPromotion) -> Quote:
    """`quote` with `promotions` applied: total, VAT and shares recomputed so that every invariant holds."""
    discount = Money(sum(p.saving.amount_minor for p in promotions), quote.currency)
    total = quote.price - discount
    split = split_vat(total, quote.vat_rate_bp)
    commission = commission_of(split.net, 500)
    return replace(
        quote, discount=discount, total=total, net=split.net, vat=split.vat, commission=commission,
        carrier_amount=split.net - commission, promotions=promotions,
    )  # fmt: skip


class FakeEngine:
    """Records every code it was asked about; FLYER5 takes €5 off, USEDUP is used up, others are unknown."""

    def __init__(self, real: object, *, automatic: tuple[AppliedPromotion, ...] = ()) -> None:
        self.real = real
        self.automatic = automatic
        self.codes: list[str] = []

    def __call__(self, request: orders.QuoteRequest) -> orders.Priced:
        assert callable(self.real)
        _campaign_rows()
        priced: orders.Priced = self.real(replace(request, promo_code="", payment_method=""))
        code = request.promo_code.strip().upper()
        self.codes.append(request.promo_code)
        applied = list(self.automatic)
        if code == CODE:
            applied.append(flyer(priced.quote.currency))
        elif code == USED_UP:
            raise Conflict("this code is used up", code="promo_code_used_up", field="promo_code")
        elif code:
            raise InvalidInput("this promo code is not known", code="promo_code_unknown", field="promo_code")
        quote = with_promotions(priced.quote, *applied) if applied else priced.quote
        return replace(priced, quote=fx.with_fx(quote, request.payment_method))  # yuan on what is paid


def install(monkeypatch: pytest.MonkeyPatch, *, automatic: tuple[AppliedPromotion, ...] = ()) -> FakeEngine:
    """`orders.price` replaced by a FakeEngine for the test (every channel calls it through the module)."""
    engine = FakeEngine(orders.price, automatic=automatic)
    monkeypatch.setattr(orders, "price", engine)
    return engine


def _campaign_rows() -> None:
    """The campaigns the stand-in's promotions name, and its code, as rows (created once per test)."""
    at = now()
    Campaign.objects.get_or_create(
        id="cmp_flyer", defaults={"names": dict(NAMES), "rule": "fixed", "amount_minor": SAVING_MINOR,
                                  "requires_code": True, "created_at": at},
    )  # fmt: skip
    Campaign.objects.get_or_create(
        id="cmp_welcome", defaults={"names": dict(WELCOME_NAMES), "rule": "bonus_data", "bonus_data_mb": 1024,
                                    "created_at": at},
    )  # fmt: skip
    PromoCode.objects.update_or_create(code=CODE, defaults={"campaign_id": "cmp_flyer", "created_at": at})
