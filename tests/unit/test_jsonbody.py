"""The safe JSON reader: a JSON object, or a refusal with a stable code — never a RecursionError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topup.jsonbody import JsonBodyError, read_object


def code_of(raw: bytes, **limits: int) -> str:
    with pytest.raises(JsonBodyError) as refused:
        read_object(raw, **limits)
    return refused.value.code


def test_an_object_is_read() -> None:
    assert read_object(b'{"from": "+32470123456", "text": "BAL [x] {y}"}') == {
        "from": "+32470123456",
        "text": "BAL [x] {y}",
    }


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "invalid_json"),
        (b"{", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b'{"a": "\xc3"}', "invalid_json"),
        (b'{"a": NaN}', "invalid_json"),
        (b'{"a": 1e999}', "invalid_json"),
        (b'{"a": ' + b"9" * 5000 + b"}", "invalid_json"),
        (b"[]", "json_not_object"),
        (b'"text"', "json_not_object"),
        (b"null", "json_not_object"),
        (b"[" * 100_000 + b"]" * 100_000, "json_too_deep"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "json_too_deep"),
        (b'{"a": "\\u0000"}', "invalid_character"),
        (b'{"\\u0000": 1}', "invalid_character"),
        (b'{"a": "\\ud800"}', "invalid_character"),
    ],
)
def test_malformed_bodies_are_refused_with_their_code(raw: bytes, code: str) -> None:
    assert code_of(raw) == code


def test_the_limits_are_the_callers() -> None:
    assert code_of(b'{"a": "' + b"x" * 100 + b'"}', max_bytes=50) == "body_too_large"
    assert code_of(b'{"a": {"b": {"c": 1}}}', max_depth=2) == "json_too_deep"
    assert read_object(b'{"a": {"b": 1}}', max_depth=2) == {"a": {"b": 1}}


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = "[" * 1000 + '\\"{' * 100
    assert read_object(json.dumps({"a": text}).encode(), max_depth=2) == {"a": text}


@settings(max_examples=300, derandomize=True, database=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_an_object_or_a_refusal(raw: bytes) -> None:
    try:
        assert isinstance(read_object(raw), dict)
    except JsonBodyError as refused:
        assert refused.code in {"invalid_json", "json_not_object", "json_too_deep", "invalid_character"}


@settings(max_examples=100, derandomize=True, database=None)
@given(st.integers(min_value=1, max_value=60), st.sampled_from(["[", '{"k":']))
def test_the_depth_is_measured_exactly(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = ("{" + '"x":' + opener * depth + ("1" if opener != "[" else "") + closer * depth + "}").encode()
    if depth + 1 > 32:
        assert code_of(raw) == "json_too_deep"
    else:
        assert isinstance(read_object(raw), dict)
