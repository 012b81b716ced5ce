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


def normalize_address(address: str) -> str:
    """E.164 with a `+` for phone numbers (`0032…`, `32…`, `+32…`); short codes such as 1919 stay as given."""
    address = address.strip().replace(" ", "")
    if address.startswith("00"):
        address = "+" + address[2:]
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

    def as_json(self) -> dict[str, Any]:
        return {
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
        self, *, direction: str, phone: str, peer: str, text: str, data_coding: int, ids: list[str]
    ) -> Message:
        self._seq += 1
        at = datetime.now(UTC).isoformat(timespec="seconds")
        message = Message(self._seq, direction, phone, peer, text, data_coding, ids, at)
        self.messages.append(message)
        return message

    def submitted(
        self, source: str, destination: str, data_coding: int, payload: bytes, segment: Segment | None
    ) -> tuple[str, Message | None]:
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
            )
        key = (source, destination, segment.reference, segment.total)
        pending = self._pending.setdefault(key, _Pending(data_coding))
        pending.parts[segment.number] = (payload, message_id)
        if len(pending.parts) < segment.total:
            return message_id, None
        del self._pending[key]
        ordered = [pending.parts[number] for number in sorted(pending.parts)]
        # Decode the joined octets, not each part: a sender may cut a GSM escape or a UTF-16 pair in two.
        text = decode(b"".join(payload for payload, _ in ordered), pending.data_coding)
        ids = [part_id for _, part_id in ordered]
        return message_id, self.record(
            direction="mt",
            phone=destination,
            peer=source,
            text=text,
            data_coding=pending.data_coding,
            ids=ids,
        )
