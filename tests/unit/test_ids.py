"""Prefixed ULIDs: fixed width, Crockford base32, sorted by time then randomness, reversible."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.errors import InvalidInput
from topup.domain.ids import CROCKFORD32, ID_PREFIXES, MAX_RANDOM80, MAX_UNIX_MS, format_id, parse_id

unix_ms = st.integers(min_value=0, max_value=MAX_UNIX_MS)
random80 = st.integers(min_value=0, max_value=MAX_RANDOM80)


def test_known_values() -> None:
    assert format_id("ord", 0, 0) == "ord_" + "0" * 26
    assert format_id("pay", MAX_UNIX_MS, MAX_RANDOM80) == "pay_7" + "Z" * 25
    # The ULID spec's example timestamp 1469918176385 encodes as 01ARYZ6S41.
    assert format_id("evt", 1469918176385, 0).startswith("evt_01ARYZ6S41")
    assert format_id("ln", 0, 1) == "ln_" + "0" * 25 + "1"


def test_prefixes() -> None:
    assert dict(ID_PREFIXES) == {
        "order": "ord", "payment": "pay", "line": "ln", "job": "job",
        "event": "evt", "refund": "rfd", "api_key": "key",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("prefix", "ms", "rnd"),
    [
        ("", 0, 0),
        ("ORD", 0, 0),
        ("o_d", 0, 0),
        ("ord", -1, 0),
        ("ord", MAX_UNIX_MS + 1, 0),
        ("ord", 0, -1),
        ("ord", 0, MAX_RANDOM80 + 1),
    ],
)
def test_out_of_range_inputs_are_refused(prefix: str, ms: int, rnd: int) -> None:
    with pytest.raises(ValueError, match=r"prefix|range"):
        format_id(prefix, ms, rnd)


@given(ms=unix_ms, rnd=random80, prefix=st.sampled_from(sorted(ID_PREFIXES.values())))
def test_round_trip(ms: int, rnd: int, prefix: str) -> None:
    text = format_id(prefix, ms, rnd)
    assert len(text) == len(prefix) + 1 + 26
    assert set(text[len(prefix) + 1 :]) <= set(CROCKFORD32)
    assert parse_id(text) == (prefix, ms, rnd)
    assert parse_id(text, prefix).unix_ms == ms


@given(a=st.tuples(unix_ms, random80), b=st.tuples(unix_ms, random80))
def test_ids_sort_like_time_then_randomness(a: tuple[int, int], b: tuple[int, int]) -> None:
    id_a, id_b = format_id("ord", *a), format_id("ord", *b)
    assert (id_a < id_b) == (a < b)
    assert (id_a == id_b) == (a == b)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ord_",
        "ord_" + "0" * 25,
        "ord_8" + "0" * 25,
        "ord_" + "U" * 26,
        "ord" + "0" * 26,
        "ORD_" + "0" * 26,
    ],
)
def test_parse_refuses_malformed_ids(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_id(text)
    assert info.value.code == "invalid_id"


def test_parse_checks_the_expected_prefix() -> None:
    with pytest.raises(InvalidInput):
        parse_id(format_id("pay", 1, 1), "ord")
