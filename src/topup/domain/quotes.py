"""Quotes: the price of a plan for a line, split into VAT, our commission and the carrier's share, and for
Alipay and WeChat Pay payers its yuan side (domain/fx).

A quote is computed once and frozen into the order; `to_dict`/`from_dict` carry it through JSON unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from topup.domain.catalogue import Network, Plan
from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.domain.fx import FxQuote
from topup.domain.money import BELGIAN_VAT_BP, Money, split_vat
from topup.domain.promotions import AppliedPromotion

# Range holders that cannot be told apart from the number: BASE's historical ranges are reported as Telenet,
# which owns BASE, so a guess in this group does not contradict a plan of another member.
NETWORK_GROUPS: Final[tuple[frozenset[str], ...]] = (frozenset({"telenet", "base"}),)

_MONEY_FIELDS: Final = (
    "price",
    "discount",
    "total",
    "net",
    "vat",
    "commission",
    "carrier_amount",
    "face_value",
)


def _invalid_quote(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_quote", field="quote")


@dataclass(frozen=True, slots=True)
class Quote:
    plan_id: str
    network_id: str
    msisdn: str
    price: Money
    discount: Money
    total: Money
    net: Money
    vat: Money
    vat_rate_bp: int
    commission: Money
    carrier_amount: Money
    face_value: Money
    # Frozen with the order so that a delivery never asks the live catalogue: external | hosted.
    # None in orders stored before it was frozen; the delivery then reads the network row itself.
    network_kind: str | None = None
    # The yuan side for Alipay and WeChat Pay payers (None for other methods and older orders).
    fx: FxQuote | None = None
    # An external network's bundle is activated as this product of this carrier route (`carrier_product`
    # table), frozen at placement so that a catalogue change spares a paid order. None: credit, hosted,
    # or an order stored before products were frozen.
    carrier_route: str | None = None
    carrier_product: str | None = None
    # The promotions applied, in the order they were applied; their savings add up to `discount`.
    promotions: tuple[AppliedPromotion, ...] = ()

    def __post_init__(self) -> None:
        amounts = [getattr(self, name) for name in _MONEY_FIELDS]
        if any(not isinstance(amount, Money) for amount in amounts):
            raise _invalid_quote("every amount of a quote must be Money")
        if len({amount.currency for amount in amounts}) != 1:
            raise _invalid_quote("a quote has one currency")
        if self.total != self.price - self.discount or self.total.amount_minor < 0:
            raise _invalid_quote("total must be price minus discount and not negative")
        if self.net + self.vat != self.total:
            raise _invalid_quote("net + vat must equal total")
        if self.commission + self.carrier_amount != self.net:
            raise _invalid_quote("commission + carrier amount must equal net")
        if (
            self.promotions
            and sum(p.saving.amount_minor for p in self.promotions) != self.discount.amount_minor
        ):
            raise _invalid_quote("the promotions' savings must add up to the discount")

    @property
    def currency(self) -> str:
        return self.total.currency

    @property
    def charge(self) -> Money:
        """What the payment provider is asked for: the total, or its yuan amount when charged in yuan."""
        if self.fx is not None and self.fx.charge_currency == self.fx.currency:
            return self.fx.amount
        return self.total

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form; money as {"amount_minor", "currency"}."""
        result: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Money):
                result[item.name] = {"amount_minor": value.amount_minor, "currency": value.currency}
            elif isinstance(value, FxQuote):
                result[item.name] = value.to_dict()
            elif item.name == "promotions":
                result[item.name] = [promotion.to_dict() for promotion in value]
            else:
                result[item.name] = value
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Quote:
        """Rebuild a quote written by `to_dict`, checking every type and invariant."""
        try:
            money = {name: _money_from(data[name]) for name in _MONEY_FIELDS}
            texts = {name: data[name] for name in ("plan_id", "network_id", "msisdn")}
            rate = data["vat_rate_bp"]
        except KeyError as exc:
            raise _invalid_quote(f"missing quote field {exc.args[0]!r}") from None
        if not all(isinstance(text, str) for text in texts.values()):
            raise _invalid_quote("plan_id, network_id and msisdn must be strings")
        if not isinstance(rate, int) or isinstance(rate, bool):
            raise _invalid_quote("vat_rate_bp must be an integer")
        optional = {
            name: _optional_text(data, name) for name in ("network_kind", "carrier_route", "carrier_product")
        }
        fx = data.get("fx")
        promotions = data.get("promotions") or []
        if not isinstance(promotions, list):
            raise _invalid_quote("promotions must be a list")
        return cls(
            plan_id=str(texts["plan_id"]),
            network_id=str(texts["network_id"]),
            msisdn=str(texts["msisdn"]),
            vat_rate_bp=rate,
            network_kind=optional["network_kind"],
            carrier_route=optional["carrier_route"],
            carrier_product=optional["carrier_product"],
            fx=None if fx is None else FxQuote.from_dict(fx),
            promotions=tuple(AppliedPromotion.from_dict(item) for item in promotions),
            **money,
        )


def _optional_text(data: Mapping[str, object], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid_quote(f"{name} must be a string")
    return value


def _money_from(value: object) -> Money:
    if not isinstance(value, Mapping):
        raise _invalid_quote(f"not a money object: {value!r}")
    amount, currency = value.get("amount_minor"), value.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise _invalid_quote(f"not a money object: {value!r}")
    return Money(amount, currency)


def networks_compatible(guessed_network: str, network_id: str) -> bool:
    """True when a range-holder guess does not contradict a plan's network."""
    if guessed_network == network_id:
        return True
    return any(guessed_network in group and network_id in group for group in NETWORK_GROUPS)


def commission_of(net: Money, commission_bp: int) -> Money:
    """Our commission on the net amount, in basis points, rounded half-even to minor units."""
    exact = Decimal(net.amount_minor) * commission_bp / 10_000
    return Money(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), net.currency)


def make_quote(
    plan: Plan,
    network: Network,
    msisdn: str,
    *,
    guessed_network: str | None,
    network_confirmed: bool = False,
) -> Quote:
    """Price `plan` for the line `msisdn` (E.164); refuse a number whose range says another network unless the
    client confirmed the network (the number may have been ported)."""
    if not plan.active:
        raise NotFound(f"plan {plan.id} is not available", code="plan_not_available", field="plan_id")
    if plan.network_id != network.id:
        raise InvalidInput(
            f"plan {plan.id} belongs to {plan.network_id}, not {network.id}",
            code="invalid_plan",
            field="plan_id",
        )
    if plan.price.currency != network.currency:
        raise InvalidInput(f"plan {plan.id} is not priced in {network.currency}", code="invalid_plan")
    if (
        guessed_network is not None
        and not networks_compatible(guessed_network, plan.network_id)
        and not network_confirmed
    ):
        raise Conflict(
            f"the number looks like it belongs to {guessed_network}, not {plan.network_id}; "
            "if the number was ported, confirm the network to continue",
            code="network_mismatch",
            field="msisdn",
        )
    discount = Money.zero(plan.price.currency)  # promotions will set this
    total = plan.price - discount
    split = split_vat(total, BELGIAN_VAT_BP)
    commission = commission_of(split.net, network.commission_bp)
    return Quote(
        plan_id=plan.id,
        network_id=network.id,
        msisdn=msisdn,
        price=plan.price,
        discount=discount,
        total=total,
        net=split.net,
        vat=split.vat,
        vat_rate_bp=split.rate_bp,
        commission=commission,
        carrier_amount=split.net - commission,
        face_value=plan.price,
        network_kind=network.kind.value,
    )
