"""The back office's pure parts: SVG charts (well-formed, accessible, escaped, proportional), CSV cells
(formula injection defused, times in UTC) and a retailer statement's arithmetic against a small model."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.channels.backoffice.cells import amount, cell
from topup.channels.backoffice.charts import Datum, bar_chart, line_chart
from topup.domain.settlements import Reversals, Statement

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_a_bar_chart_is_an_accessible_image_with_escaped_chinese_labels() -> None:
    data = [Datum("短信 <sms>", 2000, "€20.00"), Datum("网站 & web", 500, "€5.00")]
    root = parsed(bar_chart("c1", "各渠道销售额", data, empty_text="无"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "各渠道销售额"  # type: ignore[union-attr]
    assert "短信 <sms>: €20.00" in root.find(f"{SVG}desc").text  # type: ignore[operator, union-attr]
    widths = [int(rect.get("width", "0")) for rect in root.iter(f"{SVG}rect")]
    assert widths[0] == 4 * widths[1]  # bars in proportion to the values
    assert all(g.find(f"{SVG}title") is not None for g in root.iter(f"{SVG}g"))  # a tooltip per bar


def test_a_chart_without_data_says_so() -> None:
    root = parsed(bar_chart("c2", "Sales", [], empty_text="No sales in this period."))
    assert [t.text for t in root.iter(f"{SVG}text")] == ["No sales in this period."]
    assert not list(root.iter(f"{SVG}rect"))
    line = parsed(line_chart("c3", "Per day", [], empty_text="Nothing"))
    assert not list(line.iter(f"{SVG}polyline"))


def test_a_line_chart_puts_the_top_value_at_the_top_and_labels_every_fifth_day() -> None:
    data = [Datum(f"{n + 1} dec", n * 100, f"€{n}.00") for n in range(30)]
    root = parsed(line_chart("c4", "Sales per day", data, empty_text="-", axis_text=("a", "b", "c", "d")))
    points = [tuple(map(float, p.split(","))) for p in root.find(f"{SVG}polyline").get("points", "").split()]  # type: ignore[union-attr]
    assert len(points) == 30
    assert points[-1][1] == min(y for _, y in points)  # the largest value is drawn highest
    assert points[0][1] == max(y for _, y in points)
    day_labels = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.endswith("dec")]
    assert day_labels == ["1 dec", "6 dec", "11 dec", "16 dec", "21 dec", "26 dec", "30 dec"]
    assert len(list(root.iter(f"{SVG}circle"))) == 30


def test_negative_values_draw_no_bar_below_the_axis() -> None:
    root = parsed(bar_chart("c5", "Float", [Datum("shop", -500, "-€5.00")], empty_text="-"))
    assert [int(r.get("width", "0")) for r in root.iter(f"{SVG}rect")] == [1]


@pytest.mark.parametrize("text", ["=1+1", "+32470123456", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_looking_cells_are_defused(text: str) -> None:
    assert cell(text) == "'" + text


def test_cells_write_times_in_utc_and_amounts_as_decimals() -> None:
    brussels = timezone(timedelta(hours=1))
    assert cell(datetime(2026, 12, 4, 19, 30, tzinfo=brussels)) == "2026-12-04T18:30:00Z"
    assert cell(None) == ""
    assert cell("plain") == "plain"
    assert amount(1050, "EUR") == "10.50"
    assert amount(-5, "CNY") == "-0.05"
    assert amount(2048, "kB") == "2048"
    assert cell(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"


sales = st.lists(
    st.tuples(st.integers(1, 10_000), st.integers(0, 500), st.sampled_from(["sold", "void", "refund"]))
)


@given(opening=st.integers(-50_000, 50_000), topups=st.lists(st.integers(1, 100_000)), sold=sales)
def test_the_expected_closing_float_is_what_the_movements_make(
    opening: int, topups: list[int], sold: list[tuple[int, int, str]]
) -> None:
    """A small model: walk the movements one by one on the float; the statement's sums must agree."""
    balance = opening + sum(topups)
    for price, commission, fate in sold:
        balance += commission - price
        if fate != "sold":
            balance += price - commission
    voids = [(p, c) for p, c, fate in sold if fate == "void"]
    refunds = [(p, c) for p, c, fate in sold if fate == "refund"]
    statement = Statement(
        retailer_id="rtl_1", retailer_name="shop", currency="EUR", opening_minor=opening,
        sales_count=len(sold), sales_minor=sum(p for p, _, _ in sold),
        commission_minor=sum(c for _, c, _ in sold),
        voids=Reversals(len(voids), sum(p for p, _ in voids), sum(c for _, c in voids)),
        refunds=Reversals(len(refunds), sum(p for p, _ in refunds), sum(c for _, c in refunds)),
        topups_count=len(topups), topups_minor=sum(topups), closing_minor=balance,
    )  # fmt: skip
    assert statement.expected_closing_minor == balance
    assert statement.difference_minor == 0
