"""The registry of peers: adapters never import services, services never build adapters, routes checked."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from topup import wiring
from topup.settings import CONFIG

SRC = Path(wiring.__file__).resolve().parent


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((SRC / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(SRC))] = names
    return found


def test_adapters_never_import_services_or_the_wiring() -> None:
    wrong = {
        path: sorted(n for n in names if n.startswith(("topup.services", "topup.wiring")))
        for path, names in _imports("adapters").items()
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_services_never_build_adapters() -> None:
    wrong = {
        path: sorted(n for n in names if n.startswith(("topup.adapters", "topup.wiring", "topup.bootstrap")))
        for path, names in _imports("services").items()
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_each_network_goes_through_its_configured_route() -> None:
    config = dataclasses.replace(CONFIG, carrier_routes={"proximus": "gateway"})
    built = wiring.build(config)
    assert built.carrier_route("proximus") == "gateway"
    assert built.carrier_route("orange") == "gateway"  # "*" defaults to the direct gateway
    assert built.carrier("orange") is built.carrier("proximus")  # one adapter per route, built once


def test_a_route_to_an_unregistered_adapter_is_refused_at_start() -> None:
    with pytest.raises(wiring.WiringError, match="TOPUP_CARRIER_ROUTES"):
        wiring.build(dataclasses.replace(CONFIG, carrier_routes={"proximus": "nowhere"}))
    with pytest.raises(wiring.WiringError, match="TOPUP_PAYMENT_ROUTES"):
        wiring.build(dataclasses.replace(CONFIG, payment_routes={"card": "nowhere"}))


def test_a_method_without_a_route_is_not_offered() -> None:
    built = wiring.build(dataclasses.replace(CONFIG, payment_routes={"card": "stripe"}))
    assert built.provider_name_for("card") == "stripe"
    assert built.provider_name_for("alipay") is None
