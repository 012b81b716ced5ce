"""The domain imports only the standard library, phonenumbers and itself, and never reads a clock or dice."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "topup" / "domain"
ALLOWED_THIRD_PARTY = {"phonenumbers"}
# Standard-library modules that would bring I/O, a clock or randomness into the rules.
FORBIDDEN_STDLIB = {
    "asyncio", "http", "logging", "os", "pathlib", "random", "secrets", "shutil", "socket", "sqlite3",
    "subprocess", "sys", "threading", "time", "urllib", "uuid",
}  # fmt: skip
CLOCK_CALLS = {"now", "utcnow", "today", "time", "time_ns", "monotonic"}
MODULES = sorted(DOMAIN.rglob("*.py"))


def _imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _violations(source: str) -> list[str]:
    tree = ast.parse(source)
    problems = []
    for name in _imported_modules(tree):
        top = name.split(".")[0]
        if name == "topup.domain" or name.startswith("topup.domain.") or top in ALLOWED_THIRD_PARTY:
            continue
        if top not in sys.stdlib_module_names or top in FORBIDDEN_STDLIB:
            problems.append(f"imports {name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
        ):
            problems.append(f"calls .{node.func.attr}()")
    return problems


def test_domain_modules_are_found() -> None:
    names = {path.name for path in MODULES}
    assert {"money.py", "identifiers.py", "quotes.py", "ledger.py", "orders.py", "ids.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_is_pure(path: Path) -> None:
    assert _violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import django",
        "from django.db import models",
        "import httpx",
        "from topup.db import models",
        "import topup.services.orders",
        "import random",
        "from time import monotonic",
        "import datetime\nx = datetime.datetime.now()",
        "def f():\n    import os",
    ],
)
def test_the_checker_catches_impurity(source: str) -> None:
    assert _violations(source) != []


def test_the_checker_accepts_pure_imports() -> None:
    assert (
        _violations("from decimal import Decimal\nimport phonenumbers\nfrom topup.domain.money import Money")
        == []
    )
