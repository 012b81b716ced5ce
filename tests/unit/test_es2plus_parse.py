"""`parse_progress_notification`: the HandleDownloadProgressInfo body the platform's endpoint receives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from topup.adapters.esim import parse_progress_notification

EID = "89049032123451234512345678901235"


def notification(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "header": {
            "functionRequesterIdentifier": "smdp.topup.test",
            "functionCallIdentifier": "hdpi-00000001",
        },
        "eid": EID,
        "iccid": "8932042000010245583",
        "profileType": "BE-DATA",
        "timestamp": "2025-03-01T10:15:30.123Z",
        "notificationPointId": 3,
        "notificationPointStatus": {"status": "Executed-Success"},
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def test_a_successful_step_is_read_in_full() -> None:
    info = parse_progress_notification(notification())
    assert info.iccid == "8932042000010245583"
    assert info.eid == EID
    assert info.profile_type == "BE-DATA"
    assert info.timestamp == datetime(2025, 3, 1, 10, 15, 30, 123000, tzinfo=UTC)
    assert info.notification_point_id == 3
    assert info.ok
    assert (info.subject_code, info.reason_code, info.message) == (None, None, None)
    assert (info.requester_id, info.function_call_id) == ("smdp.topup.test", "hdpi-00000001")


def test_a_failed_step_carries_its_codes() -> None:
    status = {
        "status": "Failed",
        "statusCodeData": {"subjectCode": "8.1.1", "reasonCode": "3.10", "message": "a different EID"},
    }
    info = parse_progress_notification(notification(notificationPointId=1, notificationPointStatus=status))
    assert not info.ok
    assert (info.notification_point_id, info.subject_code, info.reason_code) == (1, "8.1.1", "3.10")
    assert info.message == "a different EID"


def test_the_eid_is_optional_and_an_f_padded_iccid_is_stripped() -> None:
    info = parse_progress_notification(notification(eid=None, iccid="8932042000010245583F"))
    assert info.eid is None
    assert info.iccid == "8932042000010245583"


def test_an_offset_timestamp_is_accepted() -> None:
    info = parse_progress_notification(notification(timestamp="2025-03-01T11:15:30+01:00"))
    assert info.timestamp == datetime(2025, 3, 1, 10, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "field",
    ["header", "iccid", "profileType", "timestamp", "notificationPointId", "notificationPointStatus"],
)
def test_a_missing_required_field_is_named(field: str) -> None:
    body = notification()
    del body[field]
    with pytest.raises(ValueError, match=field):
        parse_progress_notification(body)


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"header": {"functionRequesterIdentifier": "x"}}, "functionCallIdentifier"),
        ({"notificationPointStatus": {}}, "status"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "2025-03-01T10:15:30"}, "time zone"),
        ({"iccid": "8988211000000530081"}, "iccid"),
        ({"eid": "89049032123451234512345678901234"}, "eid"),
        ({"eid": 12}, "eid"),
        ({"notificationPointId": "3"}, "notificationPointId"),
        ({"notificationPointId": True}, "notificationPointId"),
        ({"profileType": ""}, "profileType"),
    ],
)
def test_a_malformed_field_is_refused(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_progress_notification(notification(**changes))
