"""What the SMSC simulator remembers: the phones, the messages the platform sent to each (reassembled from
their parts), the messages each phone sent, message ids and half-received concatenated messages.

Plain synchronous code, used from one asyncio loop only; nothing here touches the network.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from topup.simulators.smsc.codec import Segment, decode

COUNTRY_CODE = "32"  # the simulated SMSC is Belgian: national numbers are Belgian ones


def normalize_address(address: str) -> str:
    """E.164 with a `+` for phone numbers (`0032…`, `32…`, `+32…`, national `0470…`); short codes such as
    1919 stay as given."""
    address = address.strip().replace(" ", "")
    if address.startswith("00"):
        address = "+" + address[2:]
    elif address.startswith("0") and address.isdigit() and len(address) >= 9:
        address = "+" + COUNTRY_CODE + address[1:]
    if address.isdigit() and len(address) >= 9:
        address = "+" + address
    return address


@dataclass
class Message:
    seq: int
    direction: str  # "mt" (platform → phone) or "mo" (phone → platform)
    phone: str
    peer: str
    text: str
    data_coding: int
    message_ids: list[str]
    at: str
    wire_address: dict[str, Any] | None = None  # the submit_sm's destination_addr, dest_addr_ton and _npi

    def as_json(self) -> dict[str, Any]:
        return {
            **({"wire_address": self.wire_address} if self.wire_address else {}),
            "seq": self.seq,
            "direction": self.direction,
            "from": self.peer if self.direction == "mt" else self.phone,
            "to": self.phone if self.direction == "mt" else self.peer,
            "text": self.text,
            "data_coding": self.data_coding,
            "parts": len(self.message_ids) or 1,
            "message_ids": self.message_ids,
            "at": self.at,
        }


@dataclass
class _Pending:
    data_coding: int
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)  # number → (payload, message id)


class SmscState:
    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._ids: set[str] = set()
        self._seq = 0
        self._reference = self._rng.randrange(256)
        self.messages: list[Message] = []
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}

    def new_message_id(self) -> str:
        while True:
            message_id = f"{self._rng.getrandbits(40):010x}"
            if message_id not in self._ids:
                self._ids.add(message_id)
                return message_id

    def next_reference(self) -> int:
        self._reference = (self._reference + 1) % 256
        return self._reference

    def phones(self) -> list[str]:
        return sorted({message.phone for message in self.messages})

    def inbox(self, phone: str, since: int) -> list[Message]:
        return [m for m in self.messages if m.phone == phone and m.direction == "mt" and m.seq > since]

    def last_seq(self) -> int:
        return self._seq

    def record(
        self, *, direction: str, phone: str, peer: str, text: str, data_coding: int, ids: list[str],
        wire_address: dict[str, Any] | None = None,
    ) -> Message:  # fmt: skip
        self._seq += 1
        at = datetime.now(UTC).isoformat(timespec="seconds")
        message = Message(self._seq, direction, phone, peer, text, data_coding, ids, at, wire_address)
        self.messages.append(message)
        return message

    def submitted(  # noqa: PLR0917 - one submit_sm's fields
        self, source: str, destination: str, data_coding: int, payload: bytes, segment: Segment | None,
        wire_address: dict[str, Any] | None = None,
    ) -> tuple[str, Message | None]:  # fmt: skip
        """Take one submit_sm: its message id, and the whole message once its last part is in."""
        message_id = self.new_message_id()
        if segment is None or segment.total <= 1:
            text = decode(payload, data_coding)
            return message_id, self.record(
                direction="mt",
                phone=destination,
                peer=source,
                text=text,
                data_coding=data_coding,
                ids=[message_id],
                wire_address=wire_address,
            )
        key = (source, destination, segment.reference, segment.total)
        pending = self._pending.setdefault(key, _Pending(data_coding))
        pending.parts[segment.number] = (payload, message_id)
        if len(pending.parts) < segment.total:
            return message_id, None
        del self._pending[key]
        ordered = [pending.parts[number] for number in sorted(pending.parts)]
        # Each part is decoded on its own, as a phone does: a GSM escape or a UTF-16 surrogate pair that a
        # sender cut in two shows as a space and a stray letter, or as U+FFFD, never as the character.
        text = "".join(decode(payload, pending.data_coding) for payload, _ in ordered)
        ids = [part_id for _, part_id in ordered]
        return message_id, self.record(
            direction="mt",
            phone=destination,
            peer=source,
            text=text,
            data_coding=pending.data_coding,
            ids=ids,
            wire_address=wire_address,
        )
