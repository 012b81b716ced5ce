"""Every customer page ends with a footer (help, contact, terms, privacy) in the page's language; those four
pages exist in the five languages, the Chinese ones without English words; the language switcher names
each language briefly for the eye and fully for a screen reader; the home page no longer links to the API."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.integration.test_web_pages import compiled_catalogues  # noqa: F401 - autouse: .mo files

pytestmark = pytest.mark.django_db
LANGUAGES = ("en", "nl", "fr", "de", "zh-hans")
FOOTER = {  # (help, contact, terms, privacy) as the footer words them
    "en": ("Help", "Contact", "Terms", "Privacy"),
    "nl": ("Hulp", "Contact", "Voorwaarden", "Privacy"),
    "fr": ("Aide", "Contact", "Conditions", "Confidentialité"),
    "de": ("Hilfe", "Kontakt", "AGB", "Datenschutz"),
    "zh-hans": ("帮助", "联系我们", "使用条款", "隐私"),
}
INFO_PAGES = ("/help", "/contact", "/terms", "/privacy")
# What a Chinese page may write in Latin letters: brands, product and standard names, codes and addresses.
LATIN_ALLOWED = frozenset(
    {"topup", "esim", "iphone", "android", "qr", "pin", "sms", "nl", "fr", "de", "en", "proximus", "visa",
     "mastercard", "bancontact", "vat", "be", "rue", "neuve", "bruxelles", "shop", "help", "example", "lpa",
     "sim", "pdf"}
)  # fmt: skip


class _Text(HTMLParser):
    """The words a reader sees (and hears: aria-labels), without scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "title"}:
            self._skip += 1
        self.parts += [value or "" for name, value in attrs if name in {"aria-label", "alt", "title"}]

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "title"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def latin_words(html: str) -> set[str]:
    """Latin words outside the language switcher (which names each language in itself, on purpose)."""
    reader = _Text()
    reader.feed(re.sub(r'<nav class="langs".*?</nav>', "", html, flags=re.S))
    words = set(re.findall(r"[A-Za-z]{2,}", " ".join(reader.parts)))
    return {w for w in words if w.lower() not in LATIN_ALLOWED}


def _footer(html: str) -> str:
    found = re.search(r'<footer class="foot">(.*?)</footer>', html, re.S)
    assert found is not None, "no footer"
    return found.group(1)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_customer_page_has_the_footer_in_its_language(seeded: None, language: str) -> None:
    browser = Client()
    for path in ("/", "/topup", "/esim", "/my", "/voucher", *INFO_PAGES):
        answer = browser.get(path, {"lang": language})
        assert answer.status_code == 200, path
        footer = _footer(answer.text)
        for href, words in zip(INFO_PAGES, FOOTER[language], strict=True):
            assert f'<a href="{href}">{words}</a>' in footer, (path, language, href)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_language_switcher_is_short_and_names_each_language_in_itself(
    seeded: None, language: str
) -> None:
    html = Client().get("/", {"lang": language}).text
    switcher = re.search(r'<nav class="langs"[^>]*>(.*?)</nav>', html, re.S)
    assert switcher is not None
    links = re.findall(r'<a href="\?lang=([\w-]+)" lang="([\w-]+)" hreflang="([\w-]+)" aria-label="([^"]+)"'
                       r'( aria-current="true")?>([^<]+)</a>', switcher.group(1))  # fmt: skip
    assert [(code, label, short) for code, _lang, _href, label, _cur, short in links] == [
        ("nl", "Nederlands", "NL"), ("fr", "Français", "FR"), ("de", "Deutsch", "DE"),
        ("en", "English", "EN"), ("zh-hans", "简体中文", "中文"),
    ]  # fmt: skip
    assert all(code == lang == href for code, lang, href, *_rest in links)
    assert [code for code, *_middle, current, _short in links if current] == [language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_help_answers_the_common_questions(seeded: None, language: str) -> None:
    html = Client().get("/help", {"lang": language}).text
    questions = ("plan", "iphone", "android", "late", "yuan", "voucher", "contact")
    for question in (f"faq-{name}" for name in questions):
        assert f'<details id="{question}"' in html
    assert "15" in html  # the refund deadline, from TOPUP_DELIVERY_DEADLINE_S (900 s)
    assert "*121*PIN#" in html
    assert 'href="/voucher"' in html


@pytest.mark.parametrize("path", INFO_PAGES)
def test_the_chinese_info_pages_have_no_english_words(seeded: None, path: str) -> None:
    html = Client().get(path, {"lang": "zh-hans"}).text
    assert '<html lang="zh-hans"' in html
    assert latin_words(html) == set()


def test_the_sms_keyword_on_the_help_page_is_the_readers(seeded: None) -> None:
    assert "充值 PIN" in Client().get("/help", {"lang": "zh-hans"}).text
    assert "OPLADEN PIN" in Client().get("/help", {"lang": "nl"}).text
    assert "帮助" in Client().get("/contact", {"lang": "zh-hans"}).text  # the SMS help keyword


@pytest.mark.parametrize("language", LANGUAGES)
def test_home_has_no_api_documentation_link(seeded: None, language: str) -> None:
    html = Client().get("/", {"lang": language}).text
    assert "/api/v1/docs" not in html
    assert "API" not in html


def test_the_dutch_info_pages_say_je_not_u(seeded: None) -> None:
    for path in INFO_PAGES:
        html = Client().get(path, {"lang": "nl"}).text
        # The eSIM install steps are the order page's own sentences (their register is helper "lang"'s fix).
        html = re.sub(r'<details id="faq-(iphone|android)".*?</details>', "", html, flags=re.S)
        reader = _Text()
        reader.feed(html)
        text = " ".join(reader.parts)
        assert re.search(r"\b(je|jij|jouw)\b", text, re.I) or path == "/contact", path
        assert not re.search(r"\b(u|uw)\b", text, re.I), path
