"""The partition keys that are functions of the once-only keys: a transfer's month from its id's ULID, and
the oldest usage start still rated under a partition retention."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from topup.domain.errors import LedgerError
from topup.domain.ids import format_id
from topup.domain.ledger import booked_at
from topup.domain.usage import oldest_start_accepted

AT = datetime(2025, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)
ORDER = format_id("ord", int(AT.timestamp() * 1000), 12345)


@pytest.mark.parametrize(
    "transfer_id",
    [f"{ORDER}:capture", f"{ORDER}:deliver:vat", f"rfd_{ORDER}:paid_back", ORDER, f"{ORDER}:refund:x:y"],
)
def test_a_transfer_is_booked_at_its_first_ids_time(transfer_id: str) -> None:
    assert booked_at(transfer_id) == AT


@pytest.mark.parametrize(
    "transfer_id",
    ["t1", "", "fund", "ord_1:capture", f"x:{ORDER}", f"RFD_{ORDER}", f"{ORDER}Z:capture", f"_{ORDER}"],
)
def test_an_id_without_a_time_of_ours_is_refused(transfer_id: str) -> None:
    with pytest.raises(LedgerError) as refused:
        booked_at(transfer_id)
    assert refused.value.code == "invalid_transfer_id"


def test_usage_is_rated_back_to_the_first_month_never_detached() -> None:
    assert oldest_start_accepted(AT, 24) == datetime(2023, 3, 1, tzinfo=UTC)
    assert oldest_start_accepted(datetime(2026, 1, 31, 23, 59, tzinfo=UTC), 1) == datetime(
        2025, 12, 1, tzinfo=UTC
    )
    assert oldest_start_accepted(AT, 0) is None
