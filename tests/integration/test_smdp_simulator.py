"""The SM-DP+ simulator as a real peer on loopback, driven through the production `Es2PlusClient`.

The operator's HandleDownloadProgressInfo endpoint is played by a tiny aiohttp receiver in this process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.processes import free_port, running
from topup.adapters.esim import Es2PlusClient, Es2Result, parse_progress_notification
from topup.domain.identifiers import parse_activation_code, parse_iccid

KEY = "smdp_test_key"
CALLBACK_KEY = "smdp_callback_test_key"
EID_A = "89049032123451234512345678901235"
EID_B = "89086030202200000022000023022943"
ES2 = "/gsma/rsp2/es2plus/"
Delivered = tuple[dict[str, str], dict[str, Any]]  # headers and body of an accepted notification
PROTOCOL_HEADERS = {"X-Admin-Protocol": "gsma/rsp/v2.5.0", "Authorization": f"Bearer {KEY}"}


class Receiver:
    """The operator's notification endpoint: answers 500 to the next `fail_next` attempts, then 204."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/es2plus/handleDownloadProgressInfo"
        self.attempts: list[dict[str, Any]] = []
        self.delivered: list[Delivered] = []
        self.fail_next = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.attempts.append(body)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500)
        self.delivered.append((dict(request.headers), body))
        return web.Response(status=204)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/es2plus/handleDownloadProgressInfo", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def for_iccid(self, iccid: str, count: int, timeout_s: float = 15.0) -> list[Delivered]:
        """Wait until `count` notifications of `iccid` were accepted, and return them in arrival order."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [(h, b) for h, b in self.delivered if b.get("iccid") == iccid]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


@contextmanager
def simulator(*flags: str, callback_url: str = "") -> Iterator[str]:
    port = free_port()
    args = ["-m", "topup.simulators.smdp", "--port", str(port), "--api-key", KEY, "--seed", "7"]
    args += ["--callback-url", callback_url, "--callback-key", CALLBACK_KEY, "--step-delay-ms", "10", *flags]
    with running(args, ready_url=f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def smdp_url(receiver: Receiver) -> Iterator[str]:
    with simulator("--pool", "BE-DATA:50", "--pool", "BE-VOICE:5", callback_url=receiver.url) as url:
        yield url


@pytest.fixture
def client(smdp_url: str) -> Iterator[Es2PlusClient]:
    with Es2PlusClient(smdp_url, KEY, timeout_s=5, backoff_s=0.01) as client:
        yield client


@pytest.fixture
def admin(smdp_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=smdp_url, headers={"Authorization": f"Bearer {KEY}"}) as admin:
        yield admin


def available(admin: httpx.Client, profile_type: str = "BE-DATA") -> int:
    return int(admin.get("/admin/pool").json()["pools"][profile_type]["Available"])


def profile(admin: httpx.Client, iccid: str) -> dict[str, Any]:
    return dict(admin.get(f"/sim/profiles/{iccid}").json())


def released(client: Es2PlusClient, eid: str | None = None, release: bool = True) -> tuple[str, str]:
    """Order and confirm a BE-DATA profile; (iccid, activation code)."""
    ordered = client.download_order(profile_type="BE-DATA", eid=eid)
    assert ordered.ok
    assert ordered.iccid
    confirmed = client.confirm_order(iccid=ordered.iccid, release=release)
    assert confirmed.ok, confirmed
    return ordered.iccid, f"LPA:1${confirmed.smdp_address}${confirmed.matching_id}"


def phone(smdp_url: str, activation_code: str, eid: str = EID_A) -> httpx.Response:
    body = {"activation_code": activation_code, "eid": eid}
    return httpx.post(f"{smdp_url}/sim/download", json=body, timeout=15)


def es2_call(smdp_url: str, function: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{smdp_url}{ES2}{function}", json=body, headers={**PROTOCOL_HEADERS, **headers})


def status_of(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json()["header"]["functionExecutionStatus"])


_call_ids = iter(range(1, 1_000_000))


def header() -> dict[str, str]:
    """A request header with a fresh functionCallIdentifier."""
    return {"functionRequesterIdentifier": "test", "functionCallIdentifier": f"raw-{next(_call_ids)}"}


def codes_of(result: Es2Result) -> tuple[str | None, str | None]:
    return result.subject_code, result.reason_code


UNKNOWN_ICCID = "8932042000010245583"  # valid, but never issued by the simulator (its ICCIDs are 893299…)


# ---------------------------------------------------------------- the ES2+ binding


def test_requests_need_the_key_json_and_the_admin_protocol(smdp_url: str) -> None:
    body = {"header": header(), "profileType": "BE-DATA"}
    url = f"{smdp_url}{ES2}downloadOrder"
    no_key = httpx.post(url, json=body, headers={"X-Admin-Protocol": "gsma/rsp/v2.5.0"})
    assert no_key.status_code == 401
    no_protocol = httpx.post(url, json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert no_protocol.status_code == 400
    assert status_of(no_protocol)["status"] == "Failed"
    assert no_protocol.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    as_text = httpx.post(url, content=b"{}", headers={**PROTOCOL_HEADERS, "Content-Type": "text/plain"})
    assert as_text.status_code == 400


def test_answers_carry_the_protocol_header_and_an_execution_status(smdp_url: str) -> None:
    response = es2_call(smdp_url, "releaseProfile", {"header": header(), "iccid": UNKNOWN_ICCID})
    assert response.status_code == 200
    assert response.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    status = status_of(response)
    assert status["status"] == "Failed"
    assert (status["statusCodeData"]["subjectCode"], status["statusCodeData"]["reasonCode"]) == (
        "8.2.1",
        "3.9",
    )


@pytest.mark.parametrize(
    ("function", "fields", "missing"),
    [
        ("confirmOrder", {"releaseFlag": True}, "iccid"),
        ("confirmOrder", {"iccid": UNKNOWN_ICCID}, "releaseFlag"),
        ("cancelOrder", {"iccid": UNKNOWN_ICCID}, "finalProfileStatusIndicator"),
        ("releaseProfile", {}, "iccid"),
        ("downloadOrder", {}, "profileType"),
    ],
)
def test_a_missing_mandatory_field_fails_with_1_2_and_2_2(
    smdp_url: str, function: str, fields: dict[str, Any], missing: str
) -> None:
    response = es2_call(smdp_url, function, {"header": header(), **fields})
    assert response.status_code == 200
    status = status_of(response)
    assert status["status"] == "Failed"
    data = status["statusCodeData"]
    assert (data["subjectCode"], data["reasonCode"], data["subjectIdentifier"]) == ("1.2", "2.2", missing)


@pytest.mark.parametrize(
    ("request_header", "missing"),
    [(None, "header"), ({"functionRequesterIdentifier": "test"}, "header.functionCallIdentifier")],
)
def test_a_missing_request_header_fails_with_1_2_and_2_2(
    smdp_url: str, request_header: dict[str, str] | None, missing: str
) -> None:
    body: dict[str, Any] = {"profileType": "BE-DATA"}
    if request_header is not None:
        body["header"] = request_header
    data = status_of(es2_call(smdp_url, "downloadOrder", body))["statusCodeData"]
    assert (data["subjectCode"], data["reasonCode"], data["subjectIdentifier"]) == ("1.2", "2.2", missing)


# ---------------------------------------------------------------- ordering profiles


def test_download_then_confirm_gives_a_parsable_activation_code(
    client: Es2PlusClient, admin: httpx.Client
) -> None:
    ordered = client.download_order(profile_type="BE-DATA")
    assert ordered.ok
    assert ordered.iccid is not None
    assert parse_iccid(ordered.iccid) == ordered.iccid
    assert ordered.iccid.startswith("8932")
    assert profile(admin, ordered.iccid)["state"] == "Allocated"
    confirmed = client.confirm_order(iccid=ordered.iccid, release=True)
    assert confirmed.ok
    assert confirmed.matching_id is not None
    assert confirmed.smdp_address == "smdp.topup.test"
    code = parse_activation_code(f"LPA:1${confirmed.smdp_address}${confirmed.matching_id}")
    assert (code.smdp_address, code.matching_id) == ("smdp.topup.test", confirmed.matching_id)
    assert profile(admin, ordered.iccid)["state"] == "Released"


def test_a_repeated_confirm_returns_the_same_matching_id_and_uses_one_profile(
    client: Es2PlusClient, admin: httpx.Client
) -> None:
    before = available(admin)
    ordered = client.download_order(profile_type="BE-DATA")
    assert ordered.iccid is not None
    first = client.confirm_order(iccid=ordered.iccid, release=False)
    again = client.confirm_order(iccid=ordered.iccid, release=True)
    third = client.confirm_order(iccid=ordered.iccid, matching_id=first.matching_id)
    assert first.ok
    assert again.ok
    assert third.ok
    assert first.matching_id == again.matching_id == third.matching_id
    assert available(admin) == before - 1
    assert profile(admin, ordered.iccid)["state"] == "Released"


def test_a_different_eid_cannot_confirm_a_linked_profile(client: Es2PlusClient, admin: httpx.Client) -> None:
    ordered = client.download_order(profile_type="BE-DATA", eid=EID_A)
    assert ordered.ok
    assert ordered.iccid is not None
    assert profile(admin, ordered.iccid)["state"] == "Linked"
    refused = client.confirm_order(iccid=ordered.iccid, eid=EID_B)
    assert not refused.ok
    assert not refused.transient
    assert codes_of(refused) == ("8.1.1", "3.10")
    confirmed = client.confirm_order(iccid=ordered.iccid, eid=EID_A)
    assert confirmed.ok
    assert confirmed.eid == EID_A


def test_an_exhausted_pool_says_no_more_profiles(client: Es2PlusClient, admin: httpx.Client) -> None:
    assert admin.post("/admin/pool", json={"profileType": "BE-TINY", "count": 1}).status_code == 200
    assert client.download_order(profile_type="BE-TINY").ok
    exhausted = client.download_order(profile_type="BE-TINY")
    assert not exhausted.ok
    assert not exhausted.transient
    assert codes_of(exhausted) == ("8.2.5", "3.7")
    assert codes_of(client.download_order(profile_type="NO-SUCH-TYPE")) == ("8.2.5", "3.9")
    admin.post("/admin/pool", json={"profileType": "BE-TINY", "count": 1})
    assert client.download_order(profile_type="BE-TINY").ok


def test_cancel_returns_the_profile_to_the_pool(client: Es2PlusClient, admin: httpx.Client) -> None:
    ordered = client.download_order(profile_type="BE-VOICE", eid=EID_A)
    assert ordered.iccid is not None
    confirmed = client.confirm_order(iccid=ordered.iccid, release=False)
    assert client.cancel_order(iccid=ordered.iccid, matching_id=confirmed.matching_id).ok
    state = profile(admin, ordered.iccid)
    assert (state["state"], state["eid"], state["matchingId"]) == ("Available", None, None)
    again = client.download_order(iccid=ordered.iccid, profile_type="BE-VOICE")
    assert again.ok
    assert again.iccid == ordered.iccid
    assert codes_of(client.download_order(iccid=ordered.iccid, profile_type="BE-VOICE")) == ("8.2.1", "3.3")
    assert client.cancel_order(iccid=ordered.iccid, final_status="Unavailable").ok
    assert profile(admin, ordered.iccid)["state"] == "Unavailable"
    assert codes_of(client.download_order(iccid=UNKNOWN_ICCID, profile_type="BE-VOICE")) == ("8.2.1", "3.9")


def test_a_matching_id_in_use_is_refused(client: Es2PlusClient) -> None:
    first = client.download_order(profile_type="BE-DATA")
    second = client.download_order(profile_type="BE-DATA")
    assert first.iccid is not None
    assert second.iccid is not None
    taken = client.confirm_order(iccid=first.iccid, matching_id="TOPUP-TEST0-00000-00001")
    assert taken.ok
    assert taken.matching_id == "TOPUP-TEST0-00000-00001"
    refused = client.confirm_order(iccid=second.iccid, matching_id="TOPUP-TEST0-00000-00001")
    assert codes_of(refused) == ("8.2.6", "3.3")


def test_a_repeated_function_call_identifier_replays_the_first_answer(
    smdp_url: str, admin: httpx.Client
) -> None:
    before = available(admin)
    body = {"header": header(), "profileType": "BE-DATA"}
    first = es2_call(smdp_url, "downloadOrder", body).json()
    second = es2_call(smdp_url, "downloadOrder", body).json()
    assert first["iccid"] == second["iccid"]
    assert available(admin) == before - 1


def test_a_function_call_identifier_reused_with_another_body_is_refused(
    smdp_url: str, admin: httpx.Client
) -> None:
    data_before, voice_before = available(admin), available(admin, "BE-VOICE")
    call = header()
    first = es2_call(smdp_url, "downloadOrder", {"header": call, "profileType": "BE-DATA"})
    assert status_of(first)["status"] == "Executed-Success"
    reused = es2_call(smdp_url, "downloadOrder", {"header": call, "profileType": "BE-VOICE"})
    assert reused.status_code == 200
    assert reused.headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    refusal = status_of(reused)
    assert refusal["status"] == "Failed"
    codes = refusal["statusCodeData"]
    assert (codes["subjectCode"], codes["reasonCode"]) == ("1.6", "3.3")
    assert codes["subjectIdentifier"] == call["functionCallIdentifier"]
    assert "iccid" not in reused.json()
    assert (available(admin), available(admin, "BE-VOICE")) == (data_before - 1, voice_before)
    # The refusal is not remembered: the first request, even with its keys in another order, still replays.
    replayed = es2_call(smdp_url, "downloadOrder", {"profileType": "BE-DATA", "header": call})
    assert replayed.json() == first.json()
    assert admin.get("/admin/pool").json()["refused_call_id_reuses"] >= 1


# ---------------------------------------------------------------- the phone and the progress notifications

REQUIRED = ("header", "iccid", "profileType", "timestamp", "notificationPointId", "notificationPointStatus")


def test_a_download_notifies_each_step_to_the_operator(
    smdp_url: str, client: Es2PlusClient, admin: httpx.Client, receiver: Receiver
) -> None:
    iccid, activation_code = released(client)
    answer = phone(smdp_url, activation_code)
    assert answer.status_code == 200
    assert [step["state"] for step in answer.json()["steps"]] == ["Released", "Downloaded", "Installed"]
    delivered = receiver.for_iccid(iccid, 3)
    for headers, body in delivered:
        assert all(body.get(name) not in (None, "") for name in REQUIRED)
        assert headers["Authorization"] == f"Bearer {CALLBACK_KEY}"
        assert headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    infos = [parse_progress_notification(body) for _, body in delivered]
    assert [info.notification_point_id for info in infos] == [1, 3, 4]
    assert all(info.ok and info.eid == EID_A and info.profile_type == "BE-DATA" for info in infos)
    history = [entry["state"] for entry in profile(admin, iccid)["history"]]
    assert history[-3:] == ["Released", "Downloaded", "Installed"]


def test_a_refused_notification_is_retried_with_the_same_body(
    smdp_url: str, client: Es2PlusClient, receiver: Receiver
) -> None:
    iccid, activation_code = released(client)
    receiver.fail_next = 2
    assert phone(smdp_url, activation_code).status_code == 200
    delivered = [body for _, body in receiver.for_iccid(iccid, 3)]
    assert [body["notificationPointId"] for body in delivered] == [1, 3, 4]
    attempts = [body for body in receiver.attempts if body["iccid"] == iccid]
    assert len(attempts) == 5
    assert attempts[0] == attempts[1] == attempts[2] == delivered[0]


def test_deleting_the_profile_notifies_point_5(
    smdp_url: str, client: Es2PlusClient, receiver: Receiver
) -> None:
    iccid, activation_code = released(client)
    assert phone(smdp_url, activation_code).status_code == 200
    deleted = httpx.post(f"{smdp_url}/sim/delete", json={"iccid": iccid})
    assert deleted.status_code == 200
    last = parse_progress_notification(receiver.for_iccid(iccid, 4)[-1][1])
    assert (last.notification_point_id, last.ok) == (5, True)
    assert httpx.post(f"{smdp_url}/sim/delete", json={"iccid": iccid}).status_code == 409


def test_a_wrong_eid_is_refused_notified_and_limited(
    smdp_url: str, client: Es2PlusClient, admin: httpx.Client, receiver: Receiver
) -> None:
    iccid, activation_code = released(client, eid=EID_A)
    refusals = [phone(smdp_url, activation_code, eid=EID_B) for _ in range(3)]
    assert [r.status_code for r in refusals] == [409, 409, 409]
    assert (refusals[0].json()["subjectCode"], refusals[0].json()["reasonCode"]) == ("8.1.1", "3.10")
    assert (refusals[2].json()["subjectCode"], refusals[2].json()["reasonCode"]) == ("8.8.5", "6.4")
    infos = [parse_progress_notification(body) for _, body in receiver.for_iccid(iccid, 3)]
    assert [(i.notification_point_id, i.ok) for i in infos] == [(1, False)] * 3
    assert [(i.subject_code, i.reason_code) for i in infos][-1] == ("8.8.5", "6.4")
    assert profile(admin, iccid)["state"] == "Error"
    assert phone(smdp_url, activation_code, eid=EID_A).status_code == 409


def test_an_unreleased_profile_waits_for_release_profile(
    smdp_url: str, client: Es2PlusClient, receiver: Receiver
) -> None:
    iccid, activation_code = released(client, release=False)
    early = phone(smdp_url, activation_code)
    assert early.status_code == 409
    assert (early.json()["subjectCode"], early.json()["reasonCode"]) == ("8.2.1", "3.3")
    failed = parse_progress_notification(receiver.for_iccid(iccid, 1)[0][1])
    assert (failed.notification_point_id, failed.ok) == (1, False)
    assert client.release_profile(iccid=iccid).ok
    assert phone(smdp_url, activation_code).status_code == 200


def test_an_unknown_matching_id_or_address_is_refused(smdp_url: str) -> None:
    unknown = phone(smdp_url, "LPA:1$smdp.topup.test$NOPE0-NOPE0-NOPE0-NOPE0")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_matching_id")
    elsewhere = phone(smdp_url, "LPA:1$smdp.example.com$NOPE0-NOPE0-NOPE0-NOPE0")
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (404, "unknown_smdp_address")
    garbage = phone(smdp_url, "not an activation code")
    assert (garbage.status_code, garbage.json()["error"]) == (400, "invalid_activation_code")


def test_the_phone_cli_prints_each_step(smdp_url: str, client: Es2PlusClient, admin: httpx.Client) -> None:
    iccid, activation_code = released(client)
    command = [sys.executable, "-m", "topup.simulators.phone", "--activation-code", activation_code]
    done = subprocess.run(
        [*command, "--smdp-url", smdp_url], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "eligibility" in done.stdout
    assert "-> Downloaded" in done.stdout
    assert "-> Installed" in done.stdout
    assert f"installed: {iccid}" in done.stdout
    assert profile(admin, iccid)["state"] == "Installed"
    again = subprocess.run(
        [*command, "--smdp-url", smdp_url], capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 1
    assert "download refused" in again.stderr


# ---------------------------------------------------------------- faults and safe retries


def test_an_unavailable_smdp_gives_a_transient_result_and_changes_nothing() -> None:
    with simulator("--error-rate", "1.0", "--pool", "BE-DATA:3") as url:
        with Es2PlusClient(url, KEY, timeout_s=5, retries=2, backoff_s=0.01) as client:
            result = client.download_order(profile_type="BE-DATA")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as admin:
            assert available(admin) == 3
    assert not result.ok
    assert result.transient


def test_an_unreachable_smdp_gives_a_transient_result() -> None:
    with Es2PlusClient(
        f"http://127.0.0.1:{free_port()}", KEY, timeout_s=2, retries=1, backoff_s=0.01
    ) as client:
        result = client.confirm_order(iccid=UNKNOWN_ICCID)
    assert not result.ok
    assert result.transient


def test_a_lost_answer_is_retried_with_the_same_call_identifier(
    client: Es2PlusClient, admin: httpx.Client
) -> None:
    before = available(admin)
    replays = admin.get("/admin/pool").json()["replayed_answers"]
    assert admin.post("/admin/faults", json={"lose_next": 2}).status_code == 200
    ordered = client.download_order(profile_type="BE-DATA")
    assert ordered.ok
    assert ordered.iccid is not None
    assert available(admin) == before - 1
    assert admin.get("/admin/pool").json()["replayed_answers"] == replays + 2
    assert profile(admin, ordered.iccid)["state"] == "Allocated"


def test_a_state_file_keeps_profiles_across_a_restart(tmp_path: Path) -> None:
    flags = ("--pool", "BE-DATA:4", "--state-file", str(tmp_path / "smdp.sqlite3"))
    with simulator(*flags) as url, Es2PlusClient(url, KEY, timeout_s=5) as client:
        ordered = client.download_order(profile_type="BE-DATA", eid=EID_A)
        assert ordered.iccid is not None
        first = client.confirm_order(iccid=ordered.iccid)
    with simulator(*flags) as url, Es2PlusClient(url, KEY, timeout_s=5) as client:
        again = client.confirm_order(iccid=ordered.iccid)
        fresh = client.download_order(profile_type="BE-DATA")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as admin:
            pool = admin.get("/admin/pool").json()["pools"]["BE-DATA"]
    assert again.matching_id == first.matching_id
    assert again.eid == EID_A
    assert fresh.iccid not in (None, ordered.iccid)
    assert (pool["total"], pool["Available"]) == (4, 2)
