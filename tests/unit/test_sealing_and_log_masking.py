"""Sealing personal data (AES-GCM with a key id, rotation, tampering) and masking numbers in log lines."""

from __future__ import annotations

import base64
import logging

import pytest

from topup import crypto
from topup.logs import MaskNumbers, mask_numbers
from topup.settings import DEMO_DATA_KEY, Config, _refuse_demo_secrets, load_config

K2 = "k2:" + base64.b64encode(bytes(range(32))).decode()


def test_a_sealed_value_carries_its_key_id_and_opens_again() -> None:
    sealed = crypto.seal("+32470123456")
    assert sealed.startswith(f"{crypto.KEYRING.current}:")
    assert "470123456" not in sealed
    assert crypto.seal("+32470123456") != sealed  # a fresh nonce each time
    assert crypto.open_sealed(sealed) == "+32470123456"
    assert crypto.seal("") == ""
    assert crypto.open_sealed(crypto.ERASED) == ""
    assert crypto.open_sealed("+32470123456") == "+32470123456"  # stored before encryption existed


def test_the_first_key_seals_every_key_opens() -> None:
    rotated = crypto.Keyring.parse((K2, DEMO_DATA_KEY))
    old = crypto.seal("jan@example.be")
    new = crypto.seal("jan@example.be", rotated)
    assert new.startswith("k2:")
    assert crypto.open_sealed(old, rotated) == "jan@example.be"
    assert not crypto.is_current(old, rotated)
    assert crypto.is_current(new, rotated)
    with pytest.raises(crypto.KeyringError):
        crypto.open_sealed(new)  # k2 is unknown to the demo keyring


def test_an_altered_value_does_not_open() -> None:
    kid, blob = crypto.seal("+32470123456").split(":")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    with pytest.raises(crypto.KeyringError):
        crypto.open_sealed(f"{kid}:{base64.b64encode(bytes(raw)).decode()}")


@pytest.mark.parametrize("spec", ["k1:short", "k1:" + "A" * 44, "bad id!:" + K2.split(":")[1]])
def test_malformed_keys_are_refused(spec: str) -> None:
    with pytest.raises(crypto.KeyringError):
        crypto.Keyring.parse((spec,))


def test_production_refuses_the_demo_data_key(monkeypatch: pytest.MonkeyPatch) -> None:
    strong: dict[
        str, object
    ] = {}  # every secret-like setting strong and unique, whatever other settings exist
    for name, value in vars(load_config()).items():
        if isinstance(value, str):
            strong[name] = f"{name}-strong-secret-".ljust(48, "x")
        elif isinstance(value, tuple):
            strong[name] = (f"{name}-strong-secret-".ljust(48, "x"),)
    strong["voucher_peppers"] = (("v1", "voucher-pepper-strong-secret-".ljust(48, "x")),)
    strong["public_url"] = "https://topup.example"
    fine = Config(**{**vars(load_config()), **strong, "data_keys": (K2,)})
    _refuse_demo_secrets(fine)
    with pytest.raises(RuntimeError):
        _refuse_demo_secrets(Config(**{**vars(fine), "data_keys": (K2, DEMO_DATA_KEY)}))


@pytest.mark.parametrize(
    "written",
    ["+32470123456", "%2B32470123456", "0032470123456", "32470123456", "0470123456", "470123456",
     "0470 12 34 56", "+32 470 12 34 56", "0470/12.34.56"],
)  # fmt: skip
def test_every_usual_way_of_writing_a_number_is_masked(written: str) -> None:
    assert mask_numbers(f"GET /lines/{written}/balance") == "GET /lines/+32 470 •• •• 56/balance"


@pytest.mark.parametrize(
    "kept", ["ord_01JD4701234567ABCDEF", "8932000000000000001", "1000 EUR", "2026-11-29"]
)
def test_ids_amounts_and_dates_are_left_alone(kept: str) -> None:
    assert mask_numbers(kept) == kept


def test_the_filter_rewrites_the_final_message_extra_values_and_the_traceback() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "to %s", ("+32470123456",), None)
    record.__dict__["line"] = "0470 12 34 56"
    assert MaskNumbers().filter(record)
    assert record.getMessage() == "to +32 470 •• •• 56"
    assert record.__dict__["line"] == "+32 470 •• •• 56"
