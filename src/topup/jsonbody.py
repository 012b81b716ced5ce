"""The one reader of JSON request bodies: a JSON object or a stable refusal, never a crash.

Standard library only, so channels and adapters can both use it. Every refusal is a `JsonBodyError`
carrying one of these codes (the channels word them in the customer's language, with status 400):

    body_too_large     more bytes than the limit
    invalid_json       not UTF-8, not JSON, or a number that is not finite or too long to read
    json_not_object    the top level is not an object (an array, a string, a number...)
    json_too_deep      objects and arrays nested deeper than the limit
    invalid_character  a string holds a NUL or a lone surrogate, which databases refuse to store

The depth is measured by a scan of the brackets outside strings before `json.loads` runs, so a body
nested ten thousand levels is refused without recursion.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_BODY_BYTES = 1_000_000
MAX_DEPTH = 32

# A JSON string literal (with its escapes), or one bracket outside any string.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)
# Characters that PostgreSQL refuses in text and jsonb, and that cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JsonBodyError(ValueError):
    """A request body refused before any business code sees it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = "body"


def _depth_of(text: str, limit: int) -> int:
    """The deepest bracket nesting of `text` (strings skipped), stopping as soon as it passes `limit`."""
    if text.count("[") + text.count("{") <= limit:
        return 0  # cannot be deeper than the number of opening brackets
    depth = deepest = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {literal[:20]} is not finite")
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _check_strings(value: object) -> None:
    """Refuse NUL and lone surrogates in every key and string (the depth is already bounded)."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise JsonBodyError("invalid_character", "a string holds a NUL character or a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def read_value(raw: bytes, *, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a JSON document of any top-level type, with every check but the object one."""
    if len(raw) > max_bytes:
        raise JsonBodyError("body_too_large", f"the body is larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonBodyError("invalid_json", f"the body is not UTF-8 (byte {exc.start})") from exc
    if _depth_of(text, max_depth) > max_depth:
        raise JsonBodyError("json_too_deep", f"the body is nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and integers longer than Python reads (4,300 digits).
        raise JsonBodyError("invalid_json", f"the body is not valid JSON: {str(exc)[:120]}") from exc
    # A NUL or a lone surrogate can only come from a `\u` escape: json.loads refuses raw control characters
    # in strings and UTF-8 decoding refuses surrogates. Without one, the walk over every string is skipped.
    if "\\u" in text:
        _check_strings(value)
    return value


def read_object(raw: bytes, *, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The JSON object in `raw`, or `JsonBodyError` with a stable code (see the module docstring)."""
    value = read_value(raw, max_bytes=max_bytes, max_depth=max_depth)
    if not isinstance(value, dict):
        raise JsonBodyError("json_not_object", f"the body must be a JSON object, not {type(value).__name__}")
    return value
