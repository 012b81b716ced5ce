"""Wording shared by the phone channels (USSD, IVR, SMS): amounts, dates, data, bundles, balances, plans in
the active language. The website shows bundles with the same `data_left` wording.

Every function words its answer in Django's active language (`translation.override(lang)` around the call);
none of them decides anything: the numbers come from the self-care and voucher services as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.utils.translation import get_language, ngettext, npgettext, pgettext

from topup.channels.messages import message_for
from topup.domain.money import Money
from topup.domain.plan_titles import PART_SEPARATOR
from topup.services import locale_text
from topup.services.selfcare import BundleLeft, LineBalance, PurchaseResult
from topup.settings import CONFIG

# The key a caller presses for each language, in the order Belgians expect them.
LANGUAGE_KEYS: Final[Mapping[str, str]] = {"1": "nl", "2": "fr", "3": "de", "4": "en", "5": "zh-hans"}
# How a language names itself on a small USSD screen (never translated: a reader looks for their own).
LANGUAGE_LABELS: Final[Mapping[str, str]] = {
    "nl": "NL",
    "fr": "FR",
    "de": "DE",
    "en": "EN",
    "zh-hans": "中文",
}
# The text-to-speech voice of each language (BCP 47, as TwiML's and VoiceXML's `language` attributes take it).
VOICE_LANGUAGES: Final[Mapping[str, str]] = {
    "nl": "nl-BE",
    "fr": "fr-BE",
    "de": "de-DE",
    "en": "en-GB",
    "zh-hans": "zh-CN",
}


# The website's locales, but British English: the phone channels' English is read by an en-GB voice, which
# says "3.5 gigabytes" and "€10.50" well and stumbles on the Belgian "3,5" and "10,50 €".
_BABEL_LOCALES: Final[Mapping[str, str]] = {**locale_text.BABEL_LOCALES, "en": "en_GB"}


def _locale() -> str:
    return _BABEL_LOCALES.get(get_language() or "en", "en_GB")


def spoken(title: str) -> str:
    """A plan's title as a voice reads it: its parts with a pause ("5 GB, 7 days"), not a "middle dot"."""
    return title.replace(PART_SEPARATOR, ", ")


def error_text(code: str) -> str:
    """The customer's wording of an error code; a polite generic line rather than developer English."""
    return message_for(code, pgettext("phone", "Sorry, this did not work. Please try again later."))


# ---------------------------------------------------------------- amounts and dates


def money_short(amount: Money) -> str:
    """An amount as a screen shows it in the active language: "10,50 €", "€10.50"."""
    text = format_currency(amount.as_decimal(), amount.currency, locale=_locale())
    return text.replace("\u00a0", " ").replace("\u202f", " ")  # no-break spaces are not in the GSM alphabet


def money_spoken(amount: Money) -> str:
    """An amount as a voice reads it, in the active language: "4 euros and 2 cents", "4 euro 2 cent",
    "4 euros 2 centimes", "4 Euro 2 Cent", "4欧元2分" rather than "four point zero two"."""
    if amount.currency != "EUR":
        return money_short(amount)
    euros, cents = divmod(abs(amount.amount_minor), 100)
    sign = pgettext("voice money", "minus %(amount)s") if amount.amount_minor < 0 else "%(amount)s"
    euro_words = npgettext("voice money", "%(euros)s euro", "%(euros)s euros", euros) % {"euros": euros}
    cent_words = npgettext("voice money", "%(cents)s cent", "%(cents)s cents", cents) % {"cents": cents}
    if cents == 0:
        text = euro_words
    elif euros == 0:
        text = cent_words
    else:
        text = pgettext("voice money", "%(euros)s and %(cents)s") % {"euros": euro_words, "cents": cent_words}
    return sign % {"amount": text}


def _date(iso_date: str, length: str) -> str:
    try:
        return format_date(date.fromisoformat(iso_date[:10]), length, locale=_locale())
    except ValueError:
        return iso_date  # not a date we can read: show it as the operator gave it


def date_short(iso_date: str) -> str:
    return _date(iso_date, "short")


def date_spoken(iso_date: str) -> str:
    return _date(iso_date, "long")


# ---------------------------------------------------------------- answers


def data_amount(mb: int) -> str:
    """An amount of data as a screen shows it: "512 MB", "4,5 GB" (one decimal, in the active language)."""
    if mb < 1024:
        return pgettext("data", "%(amount)s MB") % {"amount": format_decimal(mb, locale=_locale())}
    gigabytes = format_decimal(round(mb / 1024, 1), locale=_locale())
    return pgettext("data", "%(amount)s GB") % {"amount": gigabytes}


def data_spoken(mb: int) -> str:
    """An amount of data as a voice reads it: "4.5 gigabytes", "512 megabytes"."""
    if mb < 1024:
        return ngettext("%(amount)s megabyte", "%(amount)s megabytes", mb) % {"amount": mb}
    gigabytes = round(mb / 1024, 1)
    count = int(gigabytes) if gigabytes == int(gigabytes) else 2  # "1.5 gigabytes" reads as a plural
    amount = format_decimal(gigabytes, locale=_locale())
    return ngettext("%(amount)s gigabyte", "%(amount)s gigabytes", count) % {"amount": amount}


def data_left(bundle: BundleLeft) -> str:
    """What is left of a bundle: "unlimited", "3,5 GB of 5 GB left", or "512 MB left" (total unknown)."""
    if bundle.unlimited:
        return pgettext("data", "unlimited")
    left = data_amount(bundle.remaining_mb)
    if bundle.total_mb is None:
        return pgettext("data", "%(left)s left") % {"left": left}
    return pgettext("data", "%(left)s of %(total)s left") % {
        "left": left,
        "total": data_amount(bundle.total_mb),
    }


def bundle_text(bundle: BundleLeft) -> str:
    """One bundle on one short line: name, what is left of it, and until when."""
    text = f"{bundle.plan_name}: {data_left(bundle)}"
    if bundle.expires_at:
        text += ", " + pgettext("data", "until %(date)s") % {"date": date_short(bundle.expires_at)}
    return text


def bundle_spoken(bundle: BundleLeft) -> str:
    """One bundle as a sentence for a voice."""
    if bundle.unlimited:
        left = pgettext("voice", "unlimited data")
    elif bundle.total_mb is None:
        left = pgettext("voice", "%(left)s left") % {"left": data_spoken(bundle.remaining_mb)}
    else:
        left = pgettext("voice", "%(left)s left of %(total)s") % {
            "left": data_spoken(bundle.remaining_mb),
            "total": data_spoken(bundle.total_mb),
        }
    if not bundle.expires_at:
        return pgettext("voice", "%(name)s: %(left)s.") % {"name": spoken(bundle.plan_name), "left": left}
    return pgettext("voice", "%(name)s: %(left)s, valid until %(date)s.") % {
        "name": spoken(bundle.plan_name),
        "left": left,
        "date": date_spoken(bundle.expires_at),
    }


def balance_lines(found: LineBalance) -> list[str]:
    """Credit, validity and bundles, one short line each, for a small screen."""
    lines = [pgettext("ussd", "Credit: %(credit)s") % {"credit": money_short(found.credit)}]
    if found.valid_until:
        lines.append(pgettext("ussd", "Valid until %(date)s") % {"date": date_short(found.valid_until)})
    lines.extend(bundle_text(bundle) for bundle in found.bundles)
    return lines


def balance_spoken(found: LineBalance) -> list[str]:
    """Credit, validity and bundles as short sentences for a voice."""
    sentences = [pgettext("voice", "Your credit is %(amount)s.") % {"amount": money_spoken(found.credit)}]
    if found.valid_until:
        sentences.append(
            pgettext("voice", "It is valid until %(date)s.") % {"date": date_spoken(found.valid_until)}
        )
    sentences.extend(bundle_spoken(bundle) for bundle in found.bundles)
    return sentences


def order_reference(order: Mapping[str, object]) -> str:
    """The short reference a customer can quote: the end of the order id (its random part)."""
    return str(order.get("id", ""))[-8:]


def order_total(order: Mapping[str, object]) -> Money:
    total = order.get("total")
    if not isinstance(total, Mapping):
        raise TypeError("an order document has a total")
    return Money(int(total["amount_minor"]), str(total["currency"]))


def redeemed_text(order: Mapping[str, object]) -> str:
    return pgettext("ussd", "Voucher accepted: %(amount)s top-up. Ref %(ref)s.") % {
        "amount": money_short(order_total(order)),
        "ref": order_reference(order),
    }


def redeemed_spoken(order: Mapping[str, object]) -> str:
    return pgettext("voice", "Your voucher is accepted. A top-up of %(amount)s is on its way.") % {
        "amount": money_spoken(order_total(order))
    }


def site_address() -> str:
    """The public website as a person types it: no scheme."""
    return CONFIG.public_url.removeprefix("https://").removeprefix("http://")


def buy_online_text(site: str) -> str:
    """Buying by phone is not offered yet: say honestly where to buy."""
    return pgettext("phone", "Buy online at %(site)s") % {"site": site}


def no_plans_text() -> str:
    return pgettext("phone", "No plans are available for this number.")


def plans_spoken(plans: list[tuple[str, str, Money]], site: str) -> list[str]:
    sentences = [
        pgettext("voice", "%(name)s for %(price)s.") % {"name": spoken(name), "price": money_spoken(price)}
        for _code, name, price in plans
    ]
    return [*(sentences or [no_plans_text()]), buy_online_text(site) + "."]


def purchase_text(result: PurchaseResult) -> str:
    """The end of a purchase from credit on a small screen: bought and the credit left, or why not."""
    if result.ok:
        text = pgettext("ussd", "Bought: %(plan)s.") % {"plan": result.plan_name}
        if result.balance_after is not None:
            text += " " + pgettext("ussd", "Credit left: %(credit)s") % {
                "credit": money_short(result.balance_after)
            }
        return text
    if result.code == "insufficient_balance":
        return pgettext("ussd", "Not enough credit for %(plan)s (%(price)s). Top up first.") % {
            "plan": result.plan_name,
            "price": money_short(result.price),
        }
    return error_text(result.code or "")


def purchase_spoken(result: PurchaseResult) -> str:
    """The end of a purchase from credit, as a sentence for a voice."""
    if result.ok:
        text = pgettext("voice", "You bought %(plan)s.") % {"plan": spoken(result.plan_name)}
        if result.balance_after is not None:
            text += " " + pgettext("voice", "Your credit is now %(amount)s.") % {
                "amount": money_spoken(result.balance_after)
            }
        return text
    if result.code == "insufficient_balance":
        return pgettext("voice", "You do not have enough credit for %(plan)s. It costs %(price)s.") % {
            "plan": spoken(result.plan_name),
            "price": money_spoken(result.price),
        }
    return error_text(result.code or "")
