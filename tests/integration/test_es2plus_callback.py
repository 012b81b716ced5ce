"""Our ES2+ HandleDownloadProgressInfo endpoint as an SM-DP+ sees it (SGP.22): the GSMA path and the older
one, `X-Admin-Protocol` on every answer, a repeated call replayed and a reused functionCallIdentifier refused;
and the SM-DP+ simulator, started as a process with its defaults, notifying the GSMA path."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.support.processes import free_port, running
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

GSMA_PATH = "/gsma/rsp2/es2plus/handleDownloadProgressInfo"
OLD_PATH = "/api/v1/esim/es2plus/handleDownloadProgressInfo"
ICCID = "8932990000000000016"
HEADERS = {"Authorization": f"Bearer {CONFIG.smdp_callback_key}", "X-Admin-Protocol": "gsma/rsp/v2.5.0"}


@pytest.fixture
def line(seeded: None) -> str:
    from topup.db.models import Line, NetworkRecord  # noqa: PLC0415

    hosted = NetworkRecord.objects.filter(kind="hosted").first()
    assert hosted is not None
    at = datetime.now(UTC)
    Line.objects.create(id="ln_es2plus", network=hosted, iccid=ICCID, created_at=at, updated_at=at)
    return ICCID


def notification(call_id: str, point: int, iccid: str = ICCID) -> dict[str, Any]:
    return {
        "header": {"functionRequesterIdentifier": "smdp.test", "functionCallIdentifier": call_id},
        "iccid": iccid,
        "profileType": "BE-DATA",
        "timestamp": "2026-11-29T20:00:00Z",
        "notificationPointId": point,
        "notificationPointStatus": {"status": "Executed-Success"},
    }


def profile_state() -> str:
    from topup.db.models import Line  # noqa: PLC0415

    return str(Line.objects.get(iccid=ICCID).profile_state)


def events() -> list[str]:
    from topup.db.models import LineEvent  # noqa: PLC0415

    return list(LineEvent.objects.filter(line__iccid=ICCID).values_list("state", flat=True))


def test_the_gsma_path_and_the_old_one_both_record_progress_with_the_protocol_header(
    line: str, live_server: Any
) -> None:
    gsma = httpx.post(f"{live_server.url}{GSMA_PATH}", json=notification("c-1", 1), headers=HEADERS)
    assert gsma.status_code == 204, gsma.text
    assert gsma.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    assert gsma.headers["Content-Type"].startswith("application/json")
    assert profile_state() == "eligible"
    old = httpx.post(f"{live_server.url}{OLD_PATH}", json=notification("c-2", 3), headers=HEADERS)
    assert old.status_code == 204, old.text
    assert old.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    assert profile_state() == "downloaded"
    refused = httpx.post(f"{live_server.url}{GSMA_PATH}", json=notification("c-3", 4))  # no bearer key
    assert refused.status_code == 401
    assert refused.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    assert profile_state() == "downloaded"


@pytest.mark.parametrize("path", [GSMA_PATH, OLD_PATH])
def test_a_repeated_call_is_replayed_and_a_reused_call_id_with_another_body_is_refused(
    line: str, live_server: Any, path: str
) -> None:
    url = f"{live_server.url}{path}"
    first = notification("c-10", 1)
    assert httpx.post(url, json=first, headers=HEADERS).status_code == 204
    again = httpx.post(url, json=first, headers=HEADERS)
    assert again.status_code == 204  # same call id, same body: the first answer again, applied once
    assert events() == ["eligible"]
    other = notification("c-10", 4)  # same call id, another body: refused, nothing changes
    refused = httpx.post(url, json=other, headers=HEADERS)
    assert refused.status_code == 200
    assert refused.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    status = refused.json()["header"]["functionExecutionStatus"]
    assert status["status"] == "Failed"
    assert (status["statusCodeData"]["subjectCode"], status["statusCodeData"]["reasonCode"]) == ("1.6", "3.3")
    assert status["statusCodeData"]["subjectIdentifier"] == "c-10"
    assert events() == ["eligible"]
    assert profile_state() == "eligible"


def test_the_smdp_simulator_notifies_the_gsma_path_by_default(line: str, live_server: Any) -> None:
    """Started with its defaults (the callback from TOPUP_PUBLIC_URL), the simulator reaches our GSMA path."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"TOPUP_PUBLIC_URL": live_server.url}
    args = ["-m", "topup.simulators.smdp", "--port", str(port), "--api-key", CONFIG.smdp_api_key]
    args += ["--callback-key", CONFIG.smdp_callback_key, "--seed", "11", "--step-delay-ms", "10"]
    with running(args, f"{url}/healthz", env=env):
        es2 = {**HEADERS, "Authorization": f"Bearer {CONFIG.smdp_api_key}"}
        header = {"functionRequesterIdentifier": "topup", "functionCallIdentifier": "default-path-1"}
        order = {"header": header, "profileType": "BE-DATA"}
        iccid = httpx.post(f"{url}/gsma/rsp2/es2plus/downloadOrder", headers=es2, json=order).json()["iccid"]
        from topup.db.models import Line  # noqa: PLC0415

        Line.objects.filter(iccid=ICCID).update(iccid=iccid)
        header = {**header, "functionCallIdentifier": "default-path-2"}
        confirm = {"header": header, "iccid": iccid, "releaseFlag": True}
        confirmed = httpx.post(f"{url}/gsma/rsp2/es2plus/confirmOrder", headers=es2, json=confirm).json()
        code = f"LPA:1${confirmed['smdpAddress']}${confirmed['matchingId']}"
        phone = {"activation_code": code, "eid": "89049032123451234512345678901235"}
        httpx.post(f"{url}/sim/download", json=phone, timeout=15).raise_for_status()
        deadline = time.monotonic() + 15
        while Line.objects.get(iccid=iccid).profile_state != "installed":
            assert time.monotonic() < deadline, "no progress notification reached the GSMA path"
            time.sleep(0.05)
        stats = httpx.get(f"{url}/admin/pool", headers=es2).json()["notifications"]
        assert stats["url"] == f"{live_server.url}{GSMA_PATH}"
        assert stats["failed_attempts"] == 0
