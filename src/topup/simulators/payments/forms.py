"""Stripe's form encoding: `a[b][c]=v`, lists as `a[]=v` or `a[0]=v`, decoded into nested dicts and lists.

Stripe's API (and its SDKs) send `application/x-www-form-urlencoded` bodies and query strings in this
bracket notation; the simulator decodes both the same way, so a body and a query string are one
`Params` tree. Values stay strings: each endpoint converts and validates what it reads.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

Params = dict[str, object]
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 5
MAX_PAIRS = 500


class FormError(ValueError):
    """A key the bracket notation cannot express (unbalanced brackets, too deep, a clash of kinds)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _path(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    if not head:
        raise FormError(f"Invalid parameter name {key!r}.", key)
    if not rest:
        return [head]
    tail = "[" + rest
    parts = _BRACKETS.findall(tail)
    if "".join(f"[{p}]" for p in parts) != tail or len(parts) > MAX_DEPTH:
        raise FormError(f"Invalid parameter name {key!r}.", head)
    return [head, *parts]


def _insert(tree: dict[str, object], path: list[str], value: str, key: str) -> None:
    node = tree
    for index, part in enumerate(path):
        last = index == len(path) - 1
        name = part if part else f"\x00{len(node)}"  # `[]` appends: a fresh, ordered slot
        if last:
            if isinstance(node.get(name), dict):
                raise FormError(f"Parameter {key!r} is both a value and a hash.", path[0])
            node[name] = value
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise FormError(f"Parameter {key!r} is both a value and a hash.", path[0])
        node = child


def _listify(node: object) -> object:
    """Turn hashes whose keys are all indexes (`[0]`, `[1]`, or `[]`) into lists, in index order."""
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.startswith("\x00") or k.isdigit() for k in items):
        appended = [v for k, v in items.items() if k.startswith("\x00")]
        indexed = sorted(((int(k), v) for k, v in items.items() if k.isdigit()), key=lambda kv: kv[0])
        return [v for _, v in indexed] + appended
    return items


def decode(text: str) -> Params:
    """The nested parameters of a form body or query string."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PAIRS)
    except ValueError as exc:
        raise FormError("Too many parameters.", "") from exc
    tree: dict[str, object] = {}
    for key, value in pairs:
        _insert(tree, _path(key), value, key)
    decoded = _listify(tree)
    assert isinstance(decoded, dict)
    return decoded
