"""Personal data at rest: AES-256-GCM under keys from `TOPUP_DATA_KEYS`, a key id in front of every value.

A sealed value reads `k1:` + base64(12-byte nonce + ciphertext + tag). The first key seals, every listed
key opens, so a new key is added in front and `topup keys rotate` re-seals the old values. A value erased
under the GDPR is the marker `ERASED`, which opens to "". Text that does not look sealed is taken as
plaintext written before encryption existed (the migration seals it).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from topup.settings import CONFIG

ERASED = "erased:"
_NONCE = 12
_SEALED = re.compile(r"^([A-Za-z0-9_-]{1,16}):([A-Za-z0-9+/]{38,}={0,2})$")


class KeyringError(RuntimeError):
    """A malformed `TOPUP_DATA_KEYS`, a value sealed under a key we no longer have, or a forged value."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, AESGCM]
    current: str

    @classmethod
    def parse(cls, specs: tuple[str, ...]) -> Keyring:
        keys: dict[str, AESGCM] = {}
        for spec in specs:
            kid, _, encoded = spec.partition(":")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except binascii.Error as exc:
                raise KeyringError(f"TOPUP_DATA_KEYS: key {kid!r} is not base64") from exc
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", kid) or len(raw) != 32:
                raise KeyringError(f"TOPUP_DATA_KEYS: key {kid!r} must be `id:base64(32 bytes)`")
            keys[kid] = AESGCM(raw)
        if not keys:
            raise KeyringError("TOPUP_DATA_KEYS is empty")
        return cls(keys=keys, current=specs[0].partition(":")[0])


KEYRING = Keyring.parse(CONFIG.data_keys)


def key_id_of(stored: str) -> str | None:
    """The key id a stored value was sealed with; None for plaintext, "" or the erased marker."""
    found = _SEALED.match(stored)
    return found.group(1) if found else None


def seal(plaintext: str, keyring: Keyring | None = None) -> str:
    """`plaintext` encrypted under the current key; "" and the erased marker stay as they are."""
    if plaintext in ("", ERASED):
        return plaintext
    keyring = keyring or KEYRING
    nonce = os.urandom(_NONCE)
    sealed = keyring.keys[keyring.current].encrypt(nonce, plaintext.encode(), None)
    return f"{keyring.current}:{base64.b64encode(nonce + sealed).decode()}"


def open_sealed(stored: str, keyring: Keyring | None = None) -> str:
    """The plaintext of a stored value (plaintext from before encryption passes through; erased is "")."""
    keyring = keyring or KEYRING
    if stored == ERASED:
        return ""
    found = _SEALED.match(stored)
    if found is None:
        return stored
    kid, encoded = found.groups()
    key = keyring.keys.get(kid)
    if key is None:
        raise KeyringError(f"a value is sealed with key {kid!r}, which TOPUP_DATA_KEYS no longer lists")
    blob = base64.b64decode(encoded)
    try:
        return key.decrypt(blob[:_NONCE], blob[_NONCE:], None).decode()
    except Exception as exc:  # InvalidTag: altered or sealed with another key of the same id
        raise KeyringError(f"a value sealed with key {kid!r} does not open") from exc


def is_current(stored: str, keyring: Keyring | None = None) -> bool:
    """True when a stored value needs no re-sealing: under the current key, empty or erased."""
    return key_id_of(stored) == (keyring or KEYRING).current or stored in ("", ERASED)
