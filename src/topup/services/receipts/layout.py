"""A receipt as lines of a fixed number of columns, the way a thermal printer counts them.

A printer's column is half a CJK character: 汉 takes two columns, `a` one, a combining accent none
(`unicodedata.east_asian_width`). Wrapping, padding and centring here count columns, not characters, so a
Chinese receipt lines up on paper, in the text file and in the PDF (all drawn in a monospaced font).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

WIDE_80MM: Final = 42  # columns of font A on an 80 mm roll (576 dots)
NARROW_58MM: Final = 32  # on a 58 mm roll (384 dots)
WIDTHS: Final = (WIDE_80MM, NARROW_58MM)


class Kind(StrEnum):
    TITLE = "title"  # centred, bold, double size (the shop's name, VOID, REFUND)
    CENTER = "center"  # centred plain text (address, footer)
    PAIR = "pair"  # a label on the left, its value on the right
    TEXT = "text"  # a paragraph, wrapped on words
    RULE = "rule"  # a line of dashes between sections
    PIN = "pin"  # the PIN to redeem: centred, bold, double size
    QR = "qr"  # a QR code of `text` (a URL); no line of its own in plain text


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of the receipt, before it is cut into lines of the paper's width."""

    kind: Kind
    text: str = ""
    value: str = ""
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line: `text` is already padded or centred within its columns."""

    text: str
    kind: Kind
    bold: bool = False

    @property
    def big(self) -> bool:
        """Printed double width and height: it was laid out in half the columns."""
        return self.kind in {Kind.TITLE, Kind.PIN}


def char_width(char: str) -> int:
    """Columns a character takes: 2 for wide and full-width (CJK), 0 for combining marks, else 1."""
    if unicodedata.combining(char) or unicodedata.category(char) in {"Cc", "Cf"}:
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def text_width(text: str) -> int:
    return sum(char_width(char) for char in text)


def _cut(word: str, width: int) -> list[str]:
    """A word longer than the line, cut where the columns run out (never inside a wide character)."""
    pieces, piece, used = [], "", 0
    for char in word:
        size = char_width(char)
        if used + size > width and piece:
            pieces.append(piece)
            piece, used = "", 0
        piece += char
        used += size
    return [*pieces, piece] if piece else pieces


def _tokens(text: str) -> Iterable[str]:
    """Words and spaces; every wide character is a word of its own, since CJK breaks between characters."""
    word = ""
    for char in text:
        if char == " " or char_width(char) == 2:
            if word:
                yield word
            word = ""
            yield char
        else:
            word += char
    if word:
        yield word


def wrap(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` columns: on spaces, between CJK characters, or inside a
    word only when the word alone is wider than the line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, broken = "", False
        for word in _tokens(paragraph):
            if word == " " and broken and not line:
                continue  # a line that was broken does not start with the space it was broken at
            if text_width(line) + text_width(word) <= width:
                line += word
                continue
            if line.strip():
                lines.append(line.rstrip())
            pieces = [""] if word.isspace() else _cut(word, width)
            lines.extend(pieces[:-1])
            line, broken = pieces[-1], True
        lines.append(line.rstrip())
    return lines


def center(text: str, width: int) -> str:
    return " " * max(0, (width - text_width(text)) // 2) + text


def pair(label: str, value: str, width: int) -> list[str]:
    """`label  ....  value` on one line when both fit, else the label wrapped and the value right-aligned
    under it (a long plan name keeps its label readable)."""
    gap = width - text_width(label) - text_width(value)
    if gap >= 1:
        return [label + " " * gap + value]
    lines = wrap(label, width)
    for part in wrap(value, width - 2):
        lines.append(" " * (width - text_width(part)) + part)
    return lines


def lay_out(blocks: Iterable[Block], width: int) -> list[Line]:
    """The blocks as lines of `width` columns; big ones (double width) get half the columns."""
    if width not in WIDTHS:
        raise ValueError(f"a receipt is {' or '.join(map(str, WIDTHS))} columns wide, not {width}")
    lines: list[Line] = []
    for block in blocks:
        if block.kind in {Kind.TITLE, Kind.PIN}:
            half = width // 2
            lines += [Line(center(part, half), block.kind, True) for part in wrap(block.text, half)]
        elif block.kind is Kind.CENTER:
            lines += [Line(center(part, width), block.kind, block.bold) for part in wrap(block.text, width)]
        elif block.kind is Kind.PAIR:
            lines += [Line(part, block.kind, block.bold) for part in pair(block.text, block.value, width)]
        elif block.kind is Kind.TEXT:
            lines += [Line(part, block.kind, block.bold) for part in wrap(block.text, width)]
        elif block.kind is Kind.RULE:
            lines.append(Line("-" * width, block.kind))
        else:
            lines.append(Line(block.text, block.kind))
    return lines
