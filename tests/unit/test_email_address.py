"""E-mail addresses (domain.identifiers.parse_email) and the message the SMTP adapter builds from them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.adapters.messaging.smtp import ascii_address, build_message
from topup.domain.errors import InvalidInput
from topup.domain.identifiers import EMAIL_PATTERN, MAX_EMAIL_LENGTH, parse_email
from topup.ports import Attachment


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Jan.Peeters@Example.BE", "jan.peeters@example.be"),
        ("  li@example.com ", "li@example.com"),
        ("li\uff20例子\uff0e中国", "li@例子.中国"),  # full-width @ and . from a Chinese keyboard
        ("li@xn--fsqu00a.xn--fiqs8s", "li@例子.中国"),  # the same domain in its IDNA form
        ("o'brien+receipts@mail.example.ie", "o'brien+receipts@mail.example.ie"),
        ("marie@café.fr", "marie@café.fr"),
    ],
)
def test_addresses_are_kept_in_one_canonical_form(typed: str, canonical: str) -> None:
    assert parse_email(typed) == canonical
    assert parse_email(canonical) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "", "li", "li@", "@example.com", "li@example", "li@@example.com", "li @example.com",
        "li@exa mple.com",
        "li.@example.com", ".li@example.com", "li..jan@example.com", "li@-example.com", "li@example-.com",
        "li@example..com", "li@1.2.3.4", "li@[127.0.0.1]", '"li jan"@example.com', "李@example.com",
        "li@example.com.", "li@" + "a" * 64 + ".com", "a" * 250 + "@example.com",
        "li@exam\u0000ple.com",
    ],
)  # fmt: skip
def test_what_is_not_an_address_is_refused_with_a_stable_code(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_email(typed)
    assert (refused.value.code, refused.value.field) == ("invalid_email", "email")


@given(st.text(max_size=80))
def test_whatever_is_accepted_matches_the_documented_pattern(text: str) -> None:
    try:
        canonical = parse_email(text)
    except InvalidInput:
        return
    sent = ascii_address(canonical)
    assert re.fullmatch(EMAIL_PATTERN, sent)
    assert len(sent) <= MAX_EMAIL_LENGTH
    assert parse_email(canonical) == canonical


def test_the_message_is_text_and_html_with_an_inline_image_and_attachments() -> None:
    png, pdf = b"\x89PNG fake", b"%PDF-1.4 fake"
    message = build_message(
        "Topup <r@topup.test>", "li@xn--fsqu00a.xn--fiqs8s", "您的 eSIM 已准备就绪", "纯文本",
        html='<p><img src="cid:qr@topup"></p>',
        attachments=[
            Attachment("qr.png", "image/png", png, "qr@topup"),
            Attachment("receipt.pdf", "application/pdf", pdf),
        ],
    )  # fmt: skip
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(p for p in message.walk() if p.get_content_type() == "multipart/alternative")
    related = next(p for p in alternative.walk() if p.get_content_type() == "multipart/related")
    inline = next(p for p in related.walk() if p.get_content_type() == "image/png")
    assert inline["Content-ID"] == "<qr@topup>"
    assert inline.get_content_disposition() == "inline"  # shown where cid: points, not a file to save
    assert inline.get_payload(decode=True) == png
    attached = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert attached == {"receipt.pdf": pdf}
    assert message["Date"] is not None
    assert str(message["Message-ID"]).endswith("@topup.test>")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "纯文本"


def test_a_plain_message_stays_plain() -> None:
    message = build_message(
        "r@topup.test", "jan@example.be", "Je bundel", "Nog 100 MB", html=None, attachments=()
    )
    assert message.get_content_type() == "text/plain"
