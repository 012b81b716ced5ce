"""The simulator's page languages: Accept-Language, Stripe's locales, its money formats, a full table."""

from __future__ import annotations

import string

import pytest

from topup.adapters.payments.stripe import checkout_locale, method_parameters
from topup.simulators.payments import locales
from topup.simulators.payments.errors import SimulatorError


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en;q=0.5, fr-BE", "fr"),
        ("ja, nl-BE;q=0.7, de;q=0.8", "de"),
        ("ja", None),
        ("", None),
        ("fr;q=0, en;q=0.1", "en"),
        ("de;q=abc, nl", "nl"),
    ],
)
def test_the_browsers_languages_by_quality(header: str, language: str | None) -> None:
    assert locales.accepted(header) == language


def test_the_object_locale_first_then_the_browser_then_english() -> None:
    assert locales.choose("zh", "fr") == "zh"
    assert locales.choose("zh-TW", None) == "zh"
    assert locales.choose("auto", "nl-BE") == "nl"
    assert locales.choose("ja", "de") == "de"
    assert locales.choose(None, None) == "en"


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "€1,234.50"), ("zh", "€1,234.50"), ("nl", "€\u00a01.234,50"), ("fr", "1\u202f234,50\u00a0€"),
     ("de", "1.234,50\u00a0€")],
)  # fmt: skip
def test_money_as_each_language_writes_it(language: str, shown: str) -> None:
    assert locales.money(123450, "eur", language) == shown
    assert locales.money(5, "cny", "zh") == "¥0.05"


def test_every_language_has_every_string_with_the_same_placeholders() -> None:
    english = locales.STRINGS["en"]
    for language in locales.PAGE_LANGUAGES:
        table = locales.STRINGS[language]
        assert set(table) == set(english), language
        for key, template in table.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            assert fields == {f for _, f, _, _ in string.Formatter().parse(english[key]) if f}, (
                language,
                key,
            )


def test_a_locale_stripe_does_not_have_is_refused_on_param_locale() -> None:
    assert locales.session_locale("zh") == "zh"
    assert locales.session_locale(None) is None
    with pytest.raises(SimulatorError) as refused:
        locales.session_locale("zh-CN")
    assert refused.value.body()["error"] == {
        "type": "invalid_request_error", "param": "locale", "message": refused.value.message,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("ours", "stripes"),
    [("en", "en"), ("nl", "nl"), ("fr", "fr"), ("de", "de"), ("zh-hans", "zh"), ("zh-Hant", "zh-TW"),
     ("fr-be", "fr"), ("ja", "auto"), ("", "auto")],
)  # fmt: skip
def test_our_languages_as_stripe_checkout_locales(ours: str, stripes: str) -> None:
    assert checkout_locale(ours) == stripes
    assert stripes in locales.STRIPE_LOCALES


def test_bancontact_gets_a_preferred_language_only_among_its_four() -> None:
    assert method_parameters("bancontact", "pm", "fr")["payment_method_options"] == {
        "bancontact": {"preferred_language": "fr"}
    }
    assert "payment_method_options" not in method_parameters("bancontact", "pm", "zh-hans")
    assert "payment_method_options" not in method_parameters("alipay", "pm", "fr")
