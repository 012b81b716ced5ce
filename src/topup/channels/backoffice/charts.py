"""Small SVG charts drawn on the server, so the dashboard works without JavaScript: a horizontal bar chart
(labels of any length and script, Chinese included) and a line chart over days.

Each chart is an accessible image: `role="img"` named by its `<title>` and described by its `<desc>`, each
bar or point with its own `<title>` (a tooltip). Colours are presentation attributes, not inline CSS, so
the page's Content-Security-Policy (`style-src 'self'`) holds. Text is escaped; callers pass plain strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

FONT: Final = "system-ui, 'Noto Sans CJK SC', 'Noto Sans', sans-serif"
BAR: Final = "#417690"  # Django admin's own blue
GRID: Final = "#d0d7de"
INK: Final = "#24292f"


@dataclass(frozen=True, slots=True)
class Datum:
    """One bar or point: its label, its value (an integer: minor units, counts, ms) and how to say it."""

    label: str
    value: int
    text: str


def _open(ident: str, title: str, description: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{ident}-title {ident}-desc" '
        f'font-family="{escape(FONT)}" font-size="13" fill="{INK}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]


def _empty(parts: list[str], width: int, height: int, text: str) -> str:
    parts.append(f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">{escape(text)}</text></svg>')
    return "".join(parts)


def bar_chart(
    ident: str,
    title: str,
    data: Sequence[Datum],
    *,
    empty_text: str,
    width: int = 640,
    label_width: int = 170,
    row_height: int = 30,
) -> str:
    """Horizontal bars, longest first as given; the value is written at the end of each bar."""
    height = max(row_height * len(data), row_height) + 10
    description = "; ".join(f"{d.label}: {d.text}" for d in data) or empty_text
    parts = _open(ident, title, description, width, height)
    if not data:
        return _empty(parts, width, height, empty_text)
    top = max(*(d.value for d in data), 1)
    room = width - label_width - 110  # the value text after the longest bar
    for row, datum in enumerate(data):
        y = 5 + row * row_height
        length = max(round(room * max(datum.value, 0) / top), 1)
        middle = y + row_height // 2
        parts.append(
            f"<g><title>{escape(datum.label)}: {escape(datum.text)}</title>"
            f'<text x="{label_width - 8}" y="{middle + 4}" text-anchor="end">{escape(datum.label)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length}" height="{row_height - 8}" rx="2" '
            f'fill="{BAR}"/>'
            f'<text x="{label_width + length + 6}" y="{middle + 4}">{escape(datum.text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    ident: str,
    title: str,
    data: Sequence[Datum],
    *,
    empty_text: str,
    axis_text: Sequence[str] = (),
    width: int = 640,
    height: int = 240,
    every: int = 5,
) -> str:
    """A line over evenly spaced points (days), every `every`-th label written under the axis; the y axis
    has four grid lines labelled with `axis_text` (the values at 1/4, 2/4, 3/4 and 4/4 of the top)."""
    description = "; ".join(f"{d.label}: {d.text}" for d in data) or empty_text
    parts = _open(ident, title, description, width, height)
    if not data:
        return _empty(parts, width, height, empty_text)
    left, right, top_pad, bottom = 90, 15, 12, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max(*(d.value for d in data), 1)
    for quarter in range(1, 5):
        y = top_pad + plot_h - plot_h * quarter // 4
        label = axis_text[quarter - 1] if len(axis_text) >= quarter else ""
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="11">{escape(label)}</text>'
        )
    base = top_pad + plot_h
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="{INK}"/>')
    step = plot_w / max(len(data) - 1, 1)
    points: list[str] = []
    marks: list[str] = []  # drawn after the line, so that each point and its tooltip stay on top
    for index, datum in enumerate(data):
        px = round(left + index * step, 1)
        py = round(base - plot_h * max(datum.value, 0) / top, 1)
        points.append(f"{px},{py}")
        marks.append(
            f'<circle cx="{px}" cy="{py}" r="3" fill="{BAR}">'
            f"<title>{escape(datum.label)}: {escape(datum.text)}</title></circle>"
        )
        if index % every == 0 or index == len(data) - 1:
            anchor = "start" if index == 0 else "end" if index == len(data) - 1 else "middle"
            marks.append(
                f'<text x="{px}" y="{height - 10}" text-anchor="{anchor}" font-size="11">'
                f"{escape(datum.label)}</text>"
            )
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    parts.extend(marks)
    parts.append("</svg>")
    return "".join(parts)
