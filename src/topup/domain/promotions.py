"""Promotions as a quote carries them: what each applied promotion saved or added.

The rules that decide which promotions apply (campaigns, codes, stacking) live beside this in the domain;
the quote freezes their outcome as `AppliedPromotion`s so that receipts, the order page and refunds read
what the customer was promised without asking the live campaigns again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from topup.domain.errors import InvalidInput
from topup.domain.money import Money


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_quote", field="quote")


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    """One promotion applied to a quote.

    `saving` is taken off the price (zero for a bonus); `bonus_credit` and `bonus_data_mb` are added to what
    the line receives; `free_plan_id` names a plan given free with this purchase (buy-one-get-one).
    `name` is the campaign's name in the quote's language when it was priced; `names` holds it in every
    language the campaign was given (language -> text), so a receipt in another language can use its own.
    """

    campaign_id: str
    rule: str  # first_topup | bogo | percent | fixed | bonus_credit | bonus_data
    name: str
    saving: Money
    code: str = ""
    bonus_credit: Money | None = None
    bonus_data_mb: int = 0
    free_plan_id: str = ""
    names: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.campaign_id or not self.rule:
            raise _invalid("an applied promotion needs a campaign and a rule")
        if self.saving.amount_minor < 0 or self.bonus_data_mb < 0:
            raise _invalid("a promotion cannot save or add a negative amount")
        if self.bonus_credit is not None and self.bonus_credit.amount_minor < 0:
            raise _invalid("a promotion cannot add negative credit")

    def name_in(self, language: str) -> str:
        return dict(self.names).get(language, self.name)

    def to_dict(self) -> dict[str, object]:
        return {
            "campaign_id": self.campaign_id,
            "rule": self.rule,
            "name": self.name,
            "saving": _money_dict(self.saving),
            "code": self.code,
            "bonus_credit": None if self.bonus_credit is None else _money_dict(self.bonus_credit),
            "bonus_data_mb": self.bonus_data_mb,
            "free_plan_id": self.free_plan_id,
            "names": dict(self.names),
        }

    @classmethod
    def from_dict(cls, data: object) -> AppliedPromotion:
        if not isinstance(data, Mapping):
            raise _invalid("an applied promotion must be an object")
        try:
            texts = {name: data[name] for name in ("campaign_id", "rule", "name")}
            saving = _money(data["saving"])
        except KeyError as exc:
            raise _invalid(f"missing promotion field {exc.args[0]!r}") from None
        names = data.get("names") or {}
        code, free_plan_id = data.get("code", ""), data.get("free_plan_id", "")
        bonus_data_mb = data.get("bonus_data_mb", 0)
        if not all(isinstance(value, str) for value in (*texts.values(), code, free_plan_id)):
            raise _invalid("promotion texts must be strings")
        if not isinstance(bonus_data_mb, int) or isinstance(bonus_data_mb, bool):
            raise _invalid("bonus_data_mb must be an integer")
        if not isinstance(names, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in names.items()
        ):
            raise _invalid("promotion names must map languages to texts")
        bonus = data.get("bonus_credit")
        return cls(
            campaign_id=str(texts["campaign_id"]),
            rule=str(texts["rule"]),
            name=str(texts["name"]),
            saving=saving,
            code=str(code),
            bonus_credit=None if bonus is None else _money(bonus),
            bonus_data_mb=bonus_data_mb,
            free_plan_id=str(free_plan_id),
            names=tuple(sorted(names.items())),
        )


def _money_dict(value: Money) -> dict[str, object]:
    return {"amount_minor": value.amount_minor, "currency": value.currency}


def _money(value: object) -> Money:
    if not isinstance(value, Mapping):
        raise _invalid(f"not a money object: {value!r}")
    amount, currency = value.get("amount_minor"), value.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise _invalid(f"not a money object: {value!r}")
    return Money(amount, currency)
