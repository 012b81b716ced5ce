"""Blind indexes and log masks."""

from __future__ import annotations

from topup.pii import blind_index, hash_ip, mask_msisdn


def test_blind_index_is_stable_and_separate_per_purpose() -> None:
    assert blind_index("+32470123456") == blind_index("+32470123456")
    assert blind_index("+32470123456") != blind_index("+32470123457")
    assert blind_index("+32470123456", purpose="ip") != blind_index("+32470123456")
    assert "470123456" not in blind_index("+32470123456")


def test_client_addresses_are_hashed() -> None:
    assert hash_ip(None) == ""
    assert hash_ip("203.0.113.7") == hash_ip("203.0.113.7") != hash_ip("203.0.113.8")
    assert "203" not in hash_ip("203.0.113.7")


def test_masks_keep_country_prefix_and_last_two_digits() -> None:
    assert mask_msisdn("+32470123456") == "+32 470 •• •• 56"
    assert mask_msisdn("nonsense") == "••••"
