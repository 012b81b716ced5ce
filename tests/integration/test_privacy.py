"""Personal data at rest and in logs, on the real database: after a realistic flow (an API top-up paid and
delivered, an eSIM, a web sign-in by one-time code with an e-mail on file, a voucher redeemed over the API,
a web session with a typed number) no table holds a number, an e-mail address or a client address in
clear, and no log line a full number; keys rotate; a person is exported, erased, and old rows purged."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_esim import buy_esim
from tests.integration.test_notifications import RecordingSms, _prefer
from tests.integration.test_order_flow import place, wait_for_status
from tests.support.orders import owner
from topup import crypto
from topup.clock import new_id, now
from topup.db import ledger
from topup.db.fields import digest
from topup.db.models import (
    AccessToken,
    Erasure,
    IdempotencyRecord,
    InboxEvent,
    Job,
    Line,
    LinePreference,
    Notification,
    Order,
    OtpChallenge,
    RateCounter,
    RedeemAttempts,
    Voucher,
)
from topup.pii import blind_index, hash_ip
from topup.services import notifications, privacy, retention, vouchers
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

TOPUP = "+32470123456"  # the API top-up
SIGNED_IN = "+32471555201"  # the web sign-in, with an e-mail on file
VOUCHER = "+32486123456"  # the voucher redeemed over the API
TYPED = "+32499887766"  # typed on the web top-up page only
EMAIL = "Jan.Peeters@Example.be"
CLIENT_IPS = ("198.51.100.23", "203.0.113.9")
EID = "89049032123451234512345678901235"  # the buyer's device


def formats(e164: str) -> list[str]:
    """A Belgian mobile number as people and systems write it."""
    national = "0" + e164[3:]
    spaced = f"{national[:4]} {national[4:6]} {national[6:8]} {national[8:]}"
    return [e164, e164[1:], national, e164[3:], spaced, "0032" + e164[3:]]


def dump_database() -> str:
    """Every value of every table, as text (the whole database as an attacker with a backup sees it)."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                parts.append(
                    " ".join(bytes(v).decode("latin-1") if isinstance(v, memoryview) else str(v) for v in row)
                )
    return "\n".join(parts)


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """What the console handler (with its filters, as settings.LOGGING installs it) writes."""
    console = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    try:
        yield buffer
    finally:
        console.setStream(previous)


@pytest.fixture
def sms() -> Iterator[RecordingSms]:
    recorder = RecordingSms()
    notifications.configure(sms=recorder)
    yield recorder
    notifications.configure()


def _web_sign_in(sms: RecordingSms) -> Client:
    web = Client(REMOTE_ADDR=CLIENT_IPS[0])
    assert web.post("/my", {"msisdn": "0471 55 52 01"}).status_code == 302
    code = re.search(r"\b(\d{6})\b", sms.sent[-1][1])
    assert code is not None
    assert web.post("/my/code", {"code": code.group(1)}).status_code == 302
    return web


def _flow(live_server: Any, sms: RecordingSms) -> dict[str, Any]:
    client = httpx.Client(base_url=live_server.url, timeout=15)
    created = place(client, "privacy-1")
    assert created.status_code == 201, created.text
    order = created.json()
    approved = httpx.post(
        order["payment"]["checkout_url"], data={"action": "approve"}, headers={"Accept": "application/json"}
    )
    assert approved.status_code == 200
    assert wait_for_status(client, order, {"paid"})["status"] == "paid"
    run_jobs_until_idle()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["status"] == "delivered"

    esim = buy_esim(client, "esim-7d-5gb", "privacy-esim", eid=EID)
    assert esim["status"] == "delivered", esim["history"]

    _prefer(SIGNED_IN, "en", email=EMAIL)
    signed_in = _web_sign_in(sms)
    assert SIGNED_IN in [to for to, _text in sms.sent]

    _serial, pins = vouchers.generate_batch("base", "base-credit-10", 2)
    redeemed = Client(REMOTE_ADDR=CLIENT_IPS[1]).post(
        "/api/v1/vouchers/redeem",
        {"pin": pins[0][1], "msisdn": "0486 12 34 56"},
        content_type="application/json",
        headers={"Idempotency-Key": "privacy-voucher"},
    )
    assert redeemed.status_code == 201, redeemed.content
    wrong = Client(REMOTE_ADDR=CLIENT_IPS[1]).post(
        "/api/v1/vouchers/redeem", {"pin": "1" * len(pins[1][1]), "msisdn": "0486 12 34 56"},
        content_type="application/json",
    )  # fmt: skip
    assert wrong.status_code in {400, 404, 409, 422}
    run_jobs_until_idle()

    web = Client()
    assert web.post("/topup", {"msisdn": "0499 88 77 66"}).status_code == 302
    assert Session.objects.count() >= 2
    return {"order_id": order["id"], "esim_iccid": esim["esim"]["iccid"], "web": signed_in}


@pytest.fixture
def peers(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers, smdp_simulator: str
) -> Any:
    return live_server


def test_a_realistic_flow_leaves_nothing_personal_in_clear(
    peers: Any, sms: RecordingSms, captured_log: io.StringIO
) -> None:
    logging.getLogger("topup.test").warning("a number in a log line: %s", "+32470123456")
    flow = _flow(peers, sms)

    dump = dump_database()
    for number in (TOPUP, SIGNED_IN, VOUCHER, TYPED):
        for written in formats(number):
            assert written not in dump, f"{written} is stored in clear"
    assert EMAIL.lower() not in dump.lower()
    assert not re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", dump), "an e-mail address is stored in clear"
    for ip in CLIENT_IPS:
        assert ip not in dump
    assert EID not in dump
    logged = captured_log.getvalue()
    assert "+32 470 •• •• 56" in logged  # the masking filter ran on this handler
    for number in (TOPUP, SIGNED_IN, VOUCHER, TYPED):
        for written in formats(number)[:3]:
            assert written not in logged, f"{written} is in the log"

    # The application still reads plaintext, and finds rows by their blind index.
    order = Order.objects.get(id=flow["order_id"])
    assert order.msisdn == TOPUP
    assert order.quote["msisdn"] == TOPUP
    assert Order.objects.filter(msisdn=TOPUP).count() == 1
    assert Order.objects.filter(msisdn_index=blind_index(TOPUP)).count() == 1
    assert LinePreference.objects.get(line_ref=SIGNED_IN).email == EMAIL
    assert Voucher.objects.get(redeemed_by=VOUCHER).redeemed_by == VOUCHER
    assert RateCounter.objects.filter(key=f"otp_send:ip:{hash_ip(CLIENT_IPS[0])}").exists()  # only hashed
    assert Line.objects.get(iccid=flow["esim_iccid"]).eid == EID
    assert flow["web"].get("/my").status_code == 200  # the sealed session still signs the line in


def test_rotate_reseals_with_the_new_key_and_old_values_still_open(
    seeded: None, sms: RecordingSms, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prefer(SIGNED_IN, "fr", email=EMAIL)
    _web_sign_in(sms)
    old = CONFIG.data_keys[0]
    new = "k2:" + "A" * 43 + "="
    monkeypatch.setattr(crypto, "KEYRING", crypto.Keyring.parse((new, old)))
    assert LinePreference.objects.get(line_ref=SIGNED_IN).email == EMAIL  # k1 values open under k2 first

    counts = privacy.rotate_keys(batch=2)

    # Every table with a sealed column is rotated, those added since included (no list to forget them in).
    added = {"retail_terminal", "retail_sale", "kiosk_cash_session", "agent_profile", "identity_check"}
    assert added <= set(counts)
    assert counts["line_preference"] == 2
    assert counts["otp_challenge"] == 1
    assert counts["django_session"] >= 1
    assert privacy.rotate_keys()["line_preference"] == 0  # idempotent
    monkeypatch.setattr(crypto, "KEYRING", crypto.Keyring.parse((new,)))  # k1 is gone now
    with connection.cursor() as cursor:
        cursor.execute("SELECT line_ref, email FROM line_preference")
        assert all(value.startswith("k2:") for value in cursor.fetchone())
    assert LinePreference.objects.get(line_ref=SIGNED_IN).email == EMAIL
    assert OtpChallenge.objects.get().msisdn == SIGNED_IN


def _purchases(live_server: Any) -> str:
    client = httpx.Client(base_url=live_server.url, timeout=15)
    created = place(client, "privacy-erase").json()
    httpx.post(
        created["payment"]["checkout_url"], data={"action": "approve"}, headers={"Accept": "application/json"}
    )
    assert wait_for_status(client, created, {"paid"})["status"] == "paid"
    run_jobs_until_idle()
    _prefer(TOPUP, "nl", email=EMAIL)
    return str(created["id"])


def test_export_finds_the_person_and_erase_removes_them_with_the_ledger_whole(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    order_id = _purchases(live_server)
    _serial, pins = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    vouchers.redeem(pins[0][1], msisdn=TOPUP, channel="sms", caller_keys=[f"line:{TOPUP}"])
    run_jobs_until_idle()

    exported = privacy.export(privacy.Person.find(msisdn="0470 12 34 56"))
    assert exported["orders"][0]["id"] == order_id
    assert exported["orders"][0]["payments"][0]["amount_minor"] == 1000
    assert exported["preferences"][0]["email"] == EMAIL
    assert len(exported["vouchers_redeemed"]) == 1
    by_email = privacy.export(privacy.Person.find(email="jan.peeters@example.BE"))
    assert by_email["numbers"] == [TOPUP]
    assert {o["id"] for o in by_email["orders"]} == {o["id"] for o in exported["orders"]}
    json.dumps(exported)

    counts = privacy.erase(privacy.Person.find(msisdn=TOPUP), now())

    assert counts["orders"] == 2
    assert counts["preferences"] == 1
    assert counts["vouchers"] == 1
    order = Order.objects.get(id=order_id)
    assert (order.msisdn, order.msisdn_index, order.quote.get("msisdn")) == ("", "", "")
    assert order.total_minor == 1000
    assert not IdempotencyRecord.objects.exists()  # the stored answers carried the number
    assert all(t.balanced for t in ledger.trial_balance())
    assert privacy.export(privacy.Person.find(msisdn=TOPUP))["orders"] == []
    assert TOPUP not in dump_database()
    assert Erasure.objects.get().subject_index == blind_index(TOPUP)
    again = privacy.erase(privacy.Person.find(msisdn=TOPUP), now())
    assert not any(again.values())
    assert Erasure.objects.count() == 1


def test_purge_removes_only_what_is_past_its_retention(seeded: None) -> None:
    at = now()
    old, recent = at - timedelta(days=400), at - timedelta(minutes=5)
    for when in (old, recent):
        OtpChallenge.objects.create(
            id=new_id("otp"),
            msisdn=SIGNED_IN,
            code_hash="x",
            expires_at=when,
            created_at=when,
            ip="192.0.2.7",
        )
        AccessToken.objects.create(
            token_hash=new_id("tok"), msisdn=SIGNED_IN, expires_at=when, created_at=when
        )
        Job.objects.create(
            id=new_id("job"), kind="deliver", subject_id=new_id("ord"), status="done", run_after=when,
            created_at=when, finished_at=when,
        )  # fmt: skip
        IdempotencyRecord.objects.create(
            scope="orders",
            key=new_id("idem"),
            request_hash="h",
            response_status=201,
            response_body={},
            created_at=when,
        )
        InboxEvent.objects.create(
            provider="stripe", event_id=new_id("evt"), type="payment.succeeded",
            payload={"description": f"for {TOPUP}"}, received_at=when, processed_at=when,
        )  # fmt: skip
        RedeemAttempts.objects.create(key=f"line:{new_id('key')}", failures=1, last_failure_at=when)
    Job.objects.create(
        id=new_id("job"), kind="deliver", subject_id="still-queued", run_after=old, created_at=old
    )  # queued: never purged

    counts = retention.purge(at)

    assert {k: counts[k] for k in ("otp", "access_tokens", "idempotency", "inbox_payloads")} == dict.fromkeys(
        ("otp", "access_tokens", "idempotency", "inbox_payloads"), 1
    )
    # PostgreSQL: jobs go by whole months, with the partition upkeep (test_job_keys).
    assert counts["jobs"] == (0 if connection.vendor == "postgresql" else 1)
    assert counts["redeem_attempts"] == 1
    assert OtpChallenge.objects.get().created_at == recent
    assert Job.objects.filter(subject_id="still-queued").exists()
    assert InboxEvent.objects.count() == 2
    assert InboxEvent.objects.get(received_at=old).payload is None
    assert InboxEvent.objects.get(received_at=recent).payload == {"description": f"for {TOPUP}"}
    assert not any(retention.purge(at).values())


def test_lookups_that_cannot_work_on_ciphertext_are_refused(seeded: None) -> None:
    with pytest.raises(TypeError):
        list(Order.objects.filter(msisdn__startswith="+32"))
    assert Line.objects.filter(msisdn__in=[TOPUP, SIGNED_IN]).count() == 0
    assert Notification.objects.filter(to_index=digest(EMAIL, "address")).count() == 0
