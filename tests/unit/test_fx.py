"""Yuan for Alipay and WeChat Pay payers: the ECB document parser, the conversion's rounding, the FX quote
and its trip through the frozen order quote and the ledger's capture."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.fx import ecb_daily, ecb_document
from topup.adapters.fx import ecb
from topup.domain import ledger
from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.errors import Conflict, InvalidInput
from topup.domain.fx import FxQuote, FxRate, convert_with_markup, fx_quote
from topup.domain.money import Money
from topup.domain.quotes import Quote, make_quote

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
FRIDAY = date(2026, 11, 27)
RATE = FxRate("CNY", Decimal("7.6880"), FRIDAY, "ECB")


def _fx(total: Money, rate: FxRate | None = RATE, *, at: datetime = AT, charge: str = "EUR") -> FxQuote:
    return fx_quote(
        total, rate, markup_bp=200, quoted_at=at, ttl_s=900, max_age_days=4, charge_currency=charge
    )


# ---- the ECB document --------------------------------------------------------------------------------


def test_the_bundled_daily_sample_is_read() -> None:
    rates = ecb.parse(ecb.BUNDLED.read_bytes())
    cny = next(r for r in rates if r.currency == "CNY")
    assert cny.rate == Decimal("7.6000")
    assert str(cny.rate) == "7.6000"  # the published text, trailing zeros kept
    assert cny.source == "ECB"
    assert len({r.rate_date for r in rates}) == 1


def test_a_history_document_gives_every_day_oldest_first() -> None:
    days = [(FRIDAY - timedelta(days=n), {"CNY": f"7.{6800 + n}", "USD": "1.05"}) for n in (0, 1, 4)]
    rates = ecb.parse(ecb_document(days))
    cny = [(r.rate_date, str(r.rate)) for r in rates if r.currency == "CNY"]
    assert cny == [(date(2026, 11, 23), "7.6804"), (date(2026, 11, 26), "7.6801"), (FRIDAY, "7.6800")]


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"<not-closed",
        b"<?xml version='1.0'?><root/>",  # not a gesmes:Envelope
        ecb_document([]),  # no rates
        ecb_daily(FRIDAY).replace(b"7.6880", b"-7.6"),
        ecb_daily(FRIDAY).replace(b"7.6880", b"1e3"),
        ecb_daily(FRIDAY).replace(b"7.6880", b"NaN"),
        ecb_daily(FRIDAY).replace(b"2026-11-27", b"2026-13-40"),
        ecb_daily(FRIDAY).replace(b"'CNY'", b"'cny'"),
        ecb_daily(FRIDAY).replace(b"7.6880", b"&bomb;"),  # an undeclared entity
        ecb_document([(FRIDAY, {"CNY": "7.1"}), (FRIDAY, {"CNY": "7.2"})]),  # two figures for one day
        "<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"),
    ],
)
def test_malformed_documents_are_refused(document: bytes) -> None:
    with pytest.raises(ecb.RatesUnreadable):
        ecb.parse(document)


@pytest.mark.parametrize(
    "prologue",
    [
        b'<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',  # entity bomb
        b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>',  # external entity
        b"<!doctype Envelope>",
    ],
)
def test_a_doctype_or_entity_is_refused_before_parsing(prologue: bytes) -> None:
    document = ecb_daily(FRIDAY).replace(b"?>\n", b"?>\n" + prologue + b"\n", 1)
    with pytest.raises(ecb.RatesUnreadable, match="DOCTYPE"):
        ecb.parse(document)


def test_the_parser_target_refuses_a_doctype_on_its_own() -> None:
    """Belt and braces: even past the byte check, the ElementTree target stops at the DOCTYPE."""
    from xml.etree.ElementTree import XMLParser  # noqa: PLC0415

    parser = XMLParser(target=ecb._Rates())
    with pytest.raises(ecb.RatesUnreadable):
        parser.feed(b"<!DOCTYPE x><x/>")


def test_an_oversized_document_is_refused() -> None:
    with pytest.raises(ecb.RatesUnreadable, match="bytes"):
        ecb.parse(b" " * (ecb.MAX_BYTES + 1))


# ---- rounding -----------------------------------------------------------------------------------------


@given(
    cents=st.integers(min_value=0, max_value=10**12),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4),
    markup_bp=st.integers(min_value=0, max_value=5000),
)
def test_yuan_is_the_exact_product_rounded_half_up(cents: int, rate: Decimal, markup_bp: int) -> None:
    exact = Fraction(cents) * Fraction(rate) * Fraction(10_000 + markup_bp, 10_000)
    floor = exact.numerator // exact.denominator
    expected = floor + (1 if exact - floor >= Fraction(1, 2) else 0)
    assert convert_with_markup(Money(cents, "EUR"), rate, markup_bp) == Money(expected, "CNY")


def test_rounding_examples() -> None:
    assert convert_with_markup(Money(1000, "EUR"), Decimal("7.6880"), 200).amount_minor == 7842  # 78.4176
    assert convert_with_markup(Money(1000, "EUR"), Decimal("7.6880"), 0).amount_minor == 7688
    # 0.01 EUR x 7.25 = 0.0725 CNY = 7.25 fen -> 7; x 7.5 -> 7.5 fen -> 8 (half up)
    assert convert_with_markup(Money(1, "EUR"), Decimal("7.25"), 0).amount_minor == 7
    assert convert_with_markup(Money(1, "EUR"), Decimal("7.5"), 0).amount_minor == 8
    half_up = (Decimal("9.99") * Decimal("7.6880") * Decimal("1.02")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert convert_with_markup(Money(999, "EUR"), Decimal("7.6880"), 200).as_decimal() == half_up


# ---- the FX quote -------------------------------------------------------------------------------------


def test_an_fx_quote_carries_rate_source_date_markup_and_expiry() -> None:
    fx = _fx(Money(1000, "EUR"))
    assert fx.amount == Money(7842, "CNY")
    assert (fx.rate, fx.source, fx.rate_date, fx.markup_bp) == (Decimal("7.6880"), "ECB", FRIDAY, 200)
    assert fx.valid_until == AT + timedelta(seconds=900)
    assert fx.charge_currency == "EUR"


def test_a_weekend_old_rate_is_quoted_but_an_older_one_is_refused() -> None:
    assert _fx(Money(1000, "EUR"), at=datetime(2026, 12, 1, 23, 0, tzinfo=UTC)).rate_date == FRIDAY  # 4 days
    with pytest.raises(Conflict) as refused:
        _fx(Money(1000, "EUR"), at=datetime(2026, 12, 2, 0, 1, tzinfo=UTC))  # 5 days
    assert refused.value.code == "fx_rate_unavailable"
    with pytest.raises(Conflict, match="no rate"):
        _fx(Money(1000, "EUR"), None)


def test_only_eur_or_yuan_can_be_charged() -> None:
    with pytest.raises(InvalidInput):
        _fx(Money(1000, "EUR"), charge="USD")


def _quote(fx: FxQuote | None) -> Quote:
    network = Network("proximus", "Proximus", NetworkKind.EXTERNAL, 500)
    plan = Plan("proximus-credit-10", "proximus", PlanKind.CREDIT, "Proximus 10", Money(1000, "EUR"))
    return replace(make_quote(plan, network, "+32470123456", guessed_network=None), fx=fx)


def test_the_fx_survives_the_frozen_quote_json_and_older_quotes_still_read() -> None:
    quote = _quote(_fx(Money(1000, "EUR"), charge="CNY"))
    stored = quote.to_dict()
    assert stored["fx"] == {
        "amount": {"amount_minor": 7842, "currency": "CNY"},
        "rate": "7.6880",
        "source": "ECB",
        "rate_date": "2026-11-27",
        "markup_bp": 200,
        "valid_until": "2026-11-30T09:15:00+00:00",
        "charge_currency": "CNY",
    }
    assert Quote.from_dict(stored) == quote
    older = {k: v for k, v in _quote(None).to_dict().items() if k != "fx"}  # an order stored before FX
    assert Quote.from_dict(older).fx is None
    with pytest.raises(InvalidInput):
        Quote.from_dict({**stored, "fx": {**stored["fx"], "rate": 7.688}})  # type: ignore[dict-item]


def test_charged_in_yuan_the_provider_is_asked_for_the_yuan_amount() -> None:
    assert _quote(_fx(Money(1000, "EUR"), charge="CNY")).charge == Money(7842, "CNY")
    assert _quote(_fx(Money(1000, "EUR"))).charge == Money(1000, "EUR")
    assert _quote(None).charge == Money(1000, "EUR")


def test_the_capture_stays_in_eur_and_records_the_fx() -> None:
    [capture] = ledger.payment_captured("ord_1", "sandbox", _quote(_fx(Money(1000, "EUR"), charge="CNY")))
    assert capture.amount == Money(1000, "EUR")
    assert dict(capture.metadata) == {
        "fx_source": "ECB",
        "fx_rate": "7.6880",
        "fx_rate_date": "2026-11-27",
        "fx_markup_bp": "200",
        "fx_amount_minor": "7842",
        "fx_currency": "CNY",
        "fx_charge_currency": "CNY",
    }
    [plain] = ledger.payment_captured("ord_2", "sandbox", _quote(None))
    assert plain.metadata == ()


def test_the_charge_currency_setting_allows_eur_or_yuan_for_alipay_and_wechat_pay_only() -> None:
    from topup.settings import _charge_currency  # noqa: PLC0415

    assert _charge_currency({}) == {"alipay": "EUR", "wechat_pay": "EUR"}
    assert _charge_currency({"alipay": "cny"}) == {"alipay": "CNY", "wechat_pay": "EUR"}
    for wrong in ({"card": "CNY"}, {"bancontact": "EUR"}, {"wechat_pay": "USD"}):
        with pytest.raises(RuntimeError, match="TOPUP_CHARGE_CURRENCY"):
            _charge_currency(wrong)
