"""SMS commands in five languages, with PINs typed in groups, and help for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.commands import KEYWORDS, CommandKind, parse


@pytest.mark.parametrize(
    ("text", "kind", "argument", "language"),
    [
        ("SALDO", CommandKind.BALANCE, "", "nl"),
        ("solde", CommandKind.BALANCE, "", "fr"),
        ("Guthaben", CommandKind.BALANCE, "", "de"),
        ("余额", CommandKind.BALANCE, "", "zh-hans"),
        ("bal", CommandKind.BALANCE, "", None),
        ("充值 1234 5678 9012 345", CommandKind.TOPUP, "123456789012345", "zh-hans"),
        ("充值123456789012345", CommandKind.TOPUP, "123456789012345", "zh-hans"),
        ("TOPUP 1234-5678-9012-345", CommandKind.TOPUP, "123456789012345", None),
        ("opladen 1234567890123", CommandKind.TOPUP, "1234567890123", "nl"),
        ("BUY d7g5", CommandKind.BUY, "D7G5", None),
        ("LANG zh", CommandKind.LANGUAGE, "zh-hans", None),
        ("langue FR", CommandKind.LANGUAGE, "fr", "fr"),
        ("语言 中文", CommandKind.LANGUAGE, "zh-hans", "zh-hans"),
        ("LANG klingon", CommandKind.LANGUAGE, "", None),
        ("PLANS", CommandKind.PLANS, "", None),
        ("hello there", CommandKind.HELP, "", None),
        ("", CommandKind.HELP, "", None),
    ],
)
def test_parse(text: str, kind: CommandKind, argument: str, language: str | None) -> None:
    command = parse(text)
    assert (command.kind, command.argument, command.keyword_language) == (kind, argument, language)


def test_every_keyword_is_recognised_in_any_case() -> None:
    for kind, words in KEYWORDS.items():
        for word in words:
            assert parse(word.lower()).kind is kind
            assert parse(f"  {word}  ").kind is kind


@given(st.text(max_size=200))
def test_any_text_parses_to_a_command(text: str) -> None:
    assert parse(text).kind in set(CommandKind)
