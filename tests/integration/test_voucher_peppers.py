"""Voucher PINs are hashed with a pepper of their own (TOPUP_VOUCHER_PEPPERS, not the secret key), which can
be rotated: the first pepper hashes new PINs, every listed one redeems, so a PIN printed under v1 still
redeems after v2 is put first, and no new PIN may equal one held under an older pepper."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

import pytest

from topup.db.models import Voucher
from topup.domain.errors import DomainError
from topup.domain.vouchers import make_pin, pin_digest
from topup.services import vouchers
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

V1 = ("v1", "first-pepper-" + "1" * 32)
V2 = ("v2", "second-pepper-" + "2" * 32)


def use_peppers(monkeypatch: pytest.MonkeyPatch, *peppers: tuple[str, str]) -> None:
    monkeypatch.setattr(vouchers, "CONFIG", dataclasses.replace(CONFIG, voucher_peppers=peppers))


def redeem(pin: str, number: str) -> dict[str, object]:
    return vouchers.redeem(pin, msisdn=number, channel="sms", caller_keys=[f"line:{number}"])


def test_the_demo_pepper_hashes_as_the_secret_key_did(seeded: None) -> None:
    assert CONFIG.voucher_peppers == (("v1", CONFIG.secret_key),)  # no TOPUP_VOUCHER_PEPPERS in tests
    # What vouchers.py did before peppers: a key derived from the secret key.
    key = hmac.new(CONFIG.secret_key.encode(), b"topup voucher pin hash v1", hashlib.sha256).digest()
    assert vouchers.pin_hash("123456789012") == pin_digest(key, "123456789012")


def test_a_voucher_hashed_with_v1_redeems_after_v2_is_added(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peppers(monkeypatch, V1)
    old = vouchers.generate_batch("base", "base-credit-10", 2)[1]
    use_peppers(monkeypatch, V2, V1)
    new = vouchers.generate_batch("base", "base-credit-10", 1)[1]
    stored = Voucher.objects.get(id=new[0][0]).pin_hash
    assert stored == pin_digest(vouchers._keys((V2,))[0], new[0][1])  # the first pepper hashes new PINs

    assert redeem(old[0][1], "0486 12 34 01")["status"] == "paid"
    assert redeem(new[0][1], "0486 12 34 02")["status"] == "paid"

    use_peppers(monkeypatch, V2)  # v1 retired: what it hashed is unknown now
    with pytest.raises(DomainError) as refused:
        redeem(old[1][1], "0486 12 34 03")
    assert refused.value.code == "voucher_unknown"


def test_a_secret_key_alone_no_longer_redeems_once_peppers_are_separate(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_peppers(monkeypatch, V2)
    pin = vouchers.generate_batch("base", "base-credit-10", 1)[1][0][1]
    use_peppers(monkeypatch, ("v1", CONFIG.secret_key))
    with pytest.raises(DomainError):
        redeem(pin, "0486 12 34 04")


def test_a_new_pin_never_repeats_one_held_under_an_older_pepper(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ones = lambda n: "1" * n  # noqa: E731 - the same PIN every draw
    use_peppers(monkeypatch, V1)
    ((_, held),) = vouchers.generate_batch("base", "base-credit-5", 1, random_digits=ones)[1]
    use_peppers(monkeypatch, V2, V1)
    ((_, drawn),) = vouchers.generate_batch("base", "base-credit-5", 1, random_digits=ones)[1]
    assert held == make_pin("base", ones)
    assert drawn != held  # drawn again: one PIN, one voucher, whichever pepper hashed it
    assert redeem(held, "0486 12 34 05")["status"] == "paid"
