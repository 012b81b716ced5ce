"""The SM-DP+'s inventory: pools of profiles per profileType, each profile with its state and history.

Profiles live in memory; with a state file every change is written through to SQLite in the same synchronous
call and loaded back at start (the pools given on the command line only fill an empty file). ICCIDs
(`893299…`, 19 digits with a Luhn check digit) and matching ids come from one PRNG seeded by `--seed`, so a
seeded run hands out the same identifiers. Callers run on one asyncio thread: read-check-write without an
`await` in between is atomic.
"""

from __future__ import annotations

import json
import random
import sqlite3
import string
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from topup.domain.identifiers import luhn_check_digit
from topup.simulators.private import open_state_file

ICCID_PREFIX: Final = "893299"  # 89 telecom, 32 Belgium, 99 a test issuer
STATES: Final = (
    "Available",
    "Allocated",
    "Linked",
    "Confirmed",
    "Released",
    "Downloaded",
    "Installed",
    "Error",
    "Unavailable",
)
_MATCHING_ALPHABET: Final = string.ascii_uppercase + string.digits
_SCHEMA: Final = "CREATE TABLE IF NOT EXISTS profiles (iccid TEXT PRIMARY KEY, body TEXT NOT NULL)"


def utc_timestamp() -> str:
    """ISO 8601 UTC with milliseconds, e.g. `2025-01-31T12:00:00.123Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Profile:
    """One profile of the pool; `history` lists `{"at", "state", "event"}` in order."""

    iccid: str
    profile_type: str
    state: str = "Available"
    eid: str | None = None
    matching_id: str | None = None
    download_attempts: int = 0
    history: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "iccid": self.iccid,
            "profileType": self.profile_type,
            "state": self.state,
            "eid": self.eid,
            "matchingId": self.matching_id,
            "downloadAttempts": self.download_attempts,
            "history": list(self.history),
        }


class SmdpState:
    """All profiles by ICCID, the pools by profileType, and the matching ids in use."""

    def __init__(self, seed: int | None, path: Path | None = None) -> None:
        self._rng = random.Random(seed)
        self._serial = self._rng.randrange(10**10, 10**11)
        self._profiles: dict[str, Profile] = {}
        self._pools: dict[str, list[str]] = {}  # profileType -> ICCIDs in creation order
        self._by_matching_id: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = open_state_file(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            for (body,) in self._db.execute("SELECT body FROM profiles ORDER BY rowid"):
                self._index(Profile(**json.loads(body)))

    @property
    def empty(self) -> bool:
        return not self._profiles

    def _index(self, profile: Profile) -> None:
        self._profiles[profile.iccid] = profile
        self._pools.setdefault(profile.profile_type, []).append(profile.iccid)
        if profile.matching_id:
            self._by_matching_id[profile.matching_id] = profile.iccid
        self._serial = max(self._serial, int(profile.iccid[len(ICCID_PREFIX) : -1]) + 1)

    def save(self, profile: Profile) -> None:
        """Write a changed profile through to the state file (no-op in memory)."""
        if self._db is not None:
            body = json.dumps(asdict(profile), separators=(",", ":"))
            self._db.execute("INSERT OR REPLACE INTO profiles VALUES (?, ?)", (profile.iccid, body))

    def _new_iccid(self) -> str:
        payload = f"{ICCID_PREFIX}{self._serial:012d}"
        self._serial += 1
        return payload + luhn_check_digit(payload)

    def add_profiles(self, profile_type: str, count: int) -> None:
        """Create `count` Available profiles of a type (the type's pool is created if new)."""
        self._pools.setdefault(profile_type, [])
        for _ in range(count):
            profile = Profile(self._new_iccid(), profile_type)
            self.record(profile, "Available", "created")
            self._index(profile)

    def resize(self, profile_type: str, available: int) -> None:
        """Make the pool hold exactly `available` Available profiles: create or withdraw some."""
        free = [iccid for iccid in self._pools.get(profile_type, []) if self.get(iccid).state == "Available"]
        if len(free) < available:
            self.add_profiles(profile_type, available - len(free))
            return
        for iccid in free[available:]:
            del self._profiles[iccid]
            self._pools[profile_type].remove(iccid)
            if self._db is not None:
                self._db.execute("DELETE FROM profiles WHERE iccid = ?", (iccid,))

    def get(self, iccid: str) -> Profile:
        return self._profiles[iccid]

    def find(self, iccid: str) -> Profile | None:
        return self._profiles.get(iccid)

    def has_pool(self, profile_type: str) -> bool:
        return profile_type in self._pools

    def first_available(self, profile_type: str) -> Profile | None:
        for iccid in self._pools.get(profile_type, []):
            profile = self._profiles[iccid]
            if profile.state == "Available":
                return profile
        return None

    def by_matching_id(self, matching_id: str) -> Profile | None:
        iccid = self._by_matching_id.get(matching_id)
        return None if iccid is None else self._profiles.get(iccid)

    def new_matching_id(self) -> str:
        """A fresh `XXXXX-XXXXX-XXXXX-XXXXX` not held by any profile."""
        while True:
            groups = ("".join(self._rng.choices(_MATCHING_ALPHABET, k=5)) for _ in range(4))
            matching_id = "-".join(groups)
            if matching_id not in self._by_matching_id:
                return matching_id

    def set_matching_id(self, profile: Profile, matching_id: str | None) -> None:
        if profile.matching_id:
            self._by_matching_id.pop(profile.matching_id, None)
        profile.matching_id = matching_id
        if matching_id:
            self._by_matching_id[matching_id] = profile.iccid

    def record(self, profile: Profile, state: str, event: str) -> None:
        """Move a profile to `state`, note it in the history and persist it."""
        profile.state = state
        profile.history.append({"at": utc_timestamp(), "state": state, "event": event})
        self.save(profile)

    def pools(self) -> dict[str, dict[str, int]]:
        """Per profileType: total and a count per state, `{"BE-DATA": {"total": 200, "Available": 199}}`."""
        summary: dict[str, dict[str, int]] = {}
        for profile_type, iccids in self._pools.items():
            counts = Counter(self._profiles[iccid].state for iccid in iccids)
            summary[profile_type] = {"total": len(iccids), **{s: counts.get(s, 0) for s in STATES}}
        return summary

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
