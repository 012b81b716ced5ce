"""Outsider attempts against the order follow reads, webhook, usage API and balance check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from django.test import Client

from tests.integration.test_usage import KB, esim_plan, make_bundle, make_line, usage  # noqa: F401
from tests.integration.test_webhooks import WEBHOOK, signed_headers, succeeded_event
from tests.support.orders import owner
from topup.channels.api.auth import create_key

pytestmark = pytest.mark.django_db(transaction=True)


def _nf(r: httpx.Response) -> bool:
    return r.status_code == 404 and r.json()["error"]["code"] == "order_not_found"


def _place(base: str, idem: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"}
    r = httpx.post(
        f"{base}/api/v1/orders", json=body, headers={"Idempotency-Key": idem, **(headers or {})}, timeout=30
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_strangers_on_order_reads(seeded: None, live_server: Any, payments_simulator: str) -> None:  # noqa: PLR0912
    base = live_server.url
    key_a = create_key(["orders:write"], name="a")
    key_b = create_key(["orders:write"], name="b")
    a = _place(base, "oa1", {"Authorization": f"Bearer {key_a}"})
    b = _place(base, "ob1")
    oid = a["id"]
    c = httpx.Client(base_url=base, timeout=30)
    bad = []
    for label, hdr, params in [
        ("no token", {}, {}),
        ("other order's token", owner(b), {}),
        ("other key", {"Authorization": f"Bearer {key_b}"}, {}),
        ("garbage token", {"X-Order-Token": "x" * 5000}, {}),
        ("empty token", {"X-Order-Token": ""}, {}),
        ("no token wait", {}, {"wait": "1", "after": "zzz"}),
        ("other token wait", owner(b), {"wait": "2", "after": "\x00\u202e"}),
    ]:
        r = c.get(f"/api/v1/orders/{oid}", headers=hdr, params=params)
        if not (_nf(r) or (r.status_code == 400 and "\x00" in params.get("after", ""))):
            bad.append((label, r.status_code, r.text[:300]))
        r = c.get(f"/api/v1/orders/{oid}/events", headers=hdr, params=params if "after" in params else {})
        if not (_nf(r) or (r.status_code == 400 and "\x00" in params.get("after", ""))):
            bad.append(("events " + label, r.status_code, r.text[:300]))
        r = c.get(f"/orders/{oid}/events", headers=hdr)
        if r.status_code != 404:
            bad.append(("web events " + label, r.status_code, r.text[:300]))
    # odd ids
    for odd in ["%00", "x" * 3000, "ord_%E2%80%AE", "'%20OR%201=1--", "..%2F..%2Fetc", b["id"] + "%20"]:
        for hdr in ({}, owner(a)):
            r = c.get(f"/api/v1/orders/{odd}", headers=hdr)
            if r.status_code >= 500 or r.status_code == 200:
                bad.append(("odd id " + odd[:20], r.status_code, r.text[:300]))
            r = c.get(f"/api/v1/orders/{odd}/events", headers=hdr)
            if r.status_code >= 500 or r.status_code == 200:
                bad.append(("odd id events " + odd[:20], r.status_code, r.text[:300]))
            r = c.get(f"/api/v1/orders/{odd}", headers=hdr, params={"wait": "1", "after": "x"})
            if r.status_code >= 500 or r.status_code == 200:
                bad.append(("odd id wait " + odd[:20], r.status_code, r.text[:300]))
    # owner with odd wait/after
    for params in [
        {"wait": "-1"},
        {"wait": "21"},
        {"wait": "1.5"},
        {"wait": "abc"},
        {"wait": "1", "after": "a" * 81},
        {"wait": "1", "after": "a" * 80},
        {"wait": "1", "after": "\x00"},
        {"wait": "99999999999999999999999"},
    ]:
        r = c.get(f"/api/v1/orders/{oid}", headers={**owner(a)}, params=params)
        if r.status_code >= 500:
            bad.append(("owner params " + str(params)[:40], r.status_code, r.text[:300]))
        r = c.get(f"/api/v1/orders/{oid}", headers={"Authorization": f"Bearer {key_a}"}, params=params)
        if r.status_code >= 500:
            bad.append(("key params " + str(params)[:40], r.status_code, r.text[:300]))
    # owner on events with odd Last-Event-ID: read first bytes then close
    for lei in ["", "x" * 5000, "\u00e9\u00ff", "paid", "0", "%00", "created"]:
        try:
            with c.stream(
                "GET",
                f"/api/v1/orders/{oid}/events",
                headers={**owner(a), "Last-Event-ID": lei.encode("latin-1")},
                timeout=5,
            ) as r:
                first = b""
                if r.status_code == 200:
                    for chunk in r.iter_bytes():
                        first += chunk
                        if b"data:" in first:
                            break
                if r.status_code >= 500:
                    bad.append(("events lei " + lei[:10], r.status_code, r.read()[:300]))
                elif r.status_code == 200 and b["id"].encode() in first:
                    bad.append(("events leak", 200, first[:300]))
        except httpx.ReadTimeout:
            bad.append(("events lei timeout " + lei[:10], 0, ""))
    assert not bad, bad


def test_webhook_shapes(seeded: None, live_server: Any, payments_simulator: str) -> None:
    base = live_server.url
    a = _place(base, "wa1")
    b = _place(base, "wb1")
    from topup.db.models import Payment  # noqa: PLC0415

    ref_a = Payment.objects.get(id=a["payment"]["id"]).provider_ref
    ok = json.loads(succeeded_event(a, ref_a, "evt_base"))
    variants: list[Any] = []

    def ev(n: int, **over: Any) -> dict[str, Any]:
        e = json.loads(json.dumps(ok))
        e["id"] = f"evt_shape_{n}"
        e.update(over)
        return e

    obj = ok["data"]["object"]
    variants += [
        ev(1, data={"object": []}),
        ev(2, data=[]),
        ev(3, data=None),
        ev(4, data={"object": {**obj, "metadata": "x"}}),
        ev(5, data={"object": {**obj, "metadata": None}}),
        ev(6, data={"object": {**obj, "amount": "1000"}}),
        ev(7, data={"object": {**obj, "amount": 10**30}}),
        ev(8, data={"object": {**obj, "amount": -1}}),
        ev(9, data={"object": {**obj, "currency": None}}),
        ev(10, data={"object": {**obj, "id": None}}),
        ev(11, data={"object": {**obj, "id": 123}}),
        ev(12, type=None),
        ev(13, type=["x"]),
        ev(14, created="x"),
        ev(15, data={"object": {**obj, "metadata": {"order_id": b["id"], "payment_id": b["payment"]["id"]}}}),
        ev(16, data={"object": {**obj, "metadata": {"order_id": 5, "payment_id": [1]}}}),
        ev(17, data={"object": {**obj, "id": "pi_" + "x" * 5000}}),
        ev(18, id=None),
        ev(19, id=12),
        ev(20, id="e" * 5000),
        ev(21, data={"object": {**obj, "amount_refunded": "x"}}),
        ev(22, data={"object": {**obj, "last_payment_error": "str"}}),
        ev(23, data={"object": {**obj, "status": None}}),
        ev(
            24,
            type="payment_intent.payment_failed",
            data={"object": {**obj, "last_payment_error": {"code": ["x"]}}},
        ),
        ev(25, type="charge.refunded", data={"object": {**obj, "object": "charge", "payment_intent": None}}),
        ev(
            26,
            type="checkout.session.completed",
            data={
                "object": {"id": 5, "object": "checkout.session", "payment_intent": {"x": 1}, "metadata": []}
            },
        ),
        ev(27, data={"object": {**obj, "currency": "\u00e9\u00e9\u00e9"}}),
        ev(28, data={"object": {**obj, "amount": 1.5}}),
        ev(29, data={"object": {**obj, "amount": True}}),
    ]
    bad = []
    for e in variants:
        body = json.dumps(e).encode()
        r = httpx.post(base + WEBHOOK, content=body, headers=signed_headers(body), timeout=30)
        if r.status_code >= 500:
            bad.append((e.get("id"), r.status_code, r.text[:300]))
    for raw in [b"[]", b"null", b"1", b'"x"', b"{}", b'{"id":"evt_r"}', b"\xff\xfe", b'{"a":' * 2000]:
        r = httpx.post(base + WEBHOOK, content=raw, headers=signed_headers(raw), timeout=30)
        if r.status_code >= 500:
            bad.append((raw[:20], r.status_code, r.text[:300]))
    assert not bad, bad


def test_usage_odd_records(esim_plan: str) -> None:  # noqa: F811
    key = create_key(["usage:write"], name="usage-outsider")
    other = create_key(["orders:write"], name="no-usage")
    line = make_line()
    make_bundle(line)

    def post(body: Any, k: str = key) -> tuple[int, bytes]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = Client().post(
            "/api/v1/usage", raw, content_type="application/json", headers={"Authorization": f"Bearer {k}"}
        )
        return r.status_code, r.content

    bad = []
    base = usage("u0", line, KB)
    cases = {
        "nonascii id": [{**base, "id": "\u00e9\u4e2d\U0001f600"}],
        "nul id": [{**base, "id": "a\x00b"}],
        "surrogate id": b'{"records":['
        + json.dumps({**base, "id": "X"}).encode().replace(b'"X"', b'"\\ud800"')
        + b"]}",
        "long id 120": [{**base, "id": "\u4e2d" * 120}],
        "long id 121": [{**base, "id": "a" * 121}],
        "bytes 2^53": [{**base, "id": "b53", "bytes": 2**53}],
        "bytes 2^53+1": [{**base, "id": "b531", "bytes": 2**53 + 1}],
        "bytes 2^64": [{**base, "id": "b64", "bytes": 2**64}],
        "bytes huge": b'{"records":['
        + json.dumps({**base, "id": "bh"}).encode().replace(b'"bytes": 1024', b'"bytes": ' + b"9" * 5000)
        + b"]}",
        "bytes float": [{**base, "id": "bf", "bytes": 1.0}],
        "bytes 1e400": b'{"records":['
        + json.dumps({**base, "id": "be"}).encode().replace(b'"bytes": 1024', b'"bytes": 1e400')
        + b"]}",
        "sum over cap": [{**base, "id": f"s{i}", "bytes": 2**53} for i in range(3000)],
        "year 1": [
            {**base, "id": "y1", "start": "0001-01-01T00:00:00+00:00", "end": "0001-01-01T00:00:01+00:00"}
        ],
        "year 9999": [
            {**base, "id": "y9", "start": "9999-12-31T23:00:00+00:00", "end": "9999-12-31T23:59:59-23:59"}
        ],
        "year 2 offset": [
            {**base, "id": "y2", "start": "0002-01-01T00:00:00+23:59", "end": "0002-01-01T00:00:00+23:59"}
        ],
        "year 9998 offset": [
            {**base, "id": "y98", "start": "9998-12-31T23:59:59-23:59", "end": "9998-12-31T23:59:59-23:59"}
        ],
        "week date": [
            {**base, "id": "wk", "start": "2026-W48-3T10:00:00+00:00", "end": "2026-W48-3T10:00:01+00:00"}
        ],
        "ordinal": [
            {**base, "id": "od", "start": "2026-330T10:00:00+00:00", "end": "2026-330T10:00:01+00:00"}
        ],
        "seconds offset": [
            {
                **base,
                "id": "so",
                "start": "2026-11-26T10:00:00+01:00:30.5",
                "end": "2026-11-26T10:00:01+01:00:30.5",
            }
        ],
        "iccid int": [{**base, "id": "ii", "iccid": 8932}],
        "iccid unknown": [{**base, "id": "iu", "iccid": "0" * 22}],
        "iccid 23": [{**base, "id": "i23", "iccid": "1" * 23}],
        "no iccid imsi": [
            {"id": "ni", "imsi": "2" * 15, "bytes": 1, "start": base["start"], "end": base["end"]}
        ],
        "record list": [[1, 2]],
        "record str": ["abc"],
        "records dict": {"x": 1},
        "records null": None,
        "dup in batch": [base, base],
        "10001": [{**base, "id": f"m{i}"} for i in range(10_001)],
    }
    for name, recs in cases.items():
        body = recs if isinstance(recs, bytes) else {"records": recs}
        s, content = post(body)
        if s >= 500:
            bad.append((name, s, content[:300]))
        else:
            try:
                json.loads(content)
            except ValueError:
                bad.append((name, "bad json", content[:300]))
    for raw in [
        b"",
        b"[]",
        b"null",
        b'{"records":[]}',
        b"\xff",
        b'{"records":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"records":[{"id":"x","iccid":"y","bytes":1,"start":NaN,"end":"z"}]}',
    ]:
        s, content = post(raw)
        if s >= 500:
            bad.append((raw[:20], s, content[:300]))
    s, content = post({"records": [{**base, "id": "k"}]}, other)
    if s not in (401, 403):
        bad.append(("wrong scope key", s, content[:200]))
    s, content = post({"records": [{**base, "id": "k"}]}, "nonsense")
    if s not in (401, 403):
        bad.append(("bad key", s, content[:200]))
    assert not bad, bad


def test_balance_check_odd(seeded: None, live_server: Any, payments_simulator: str) -> None:
    base = live_server.url
    key = create_key(["balance:read"], name="bal")
    weak = create_key(["orders:write"], name="weak")
    bad = []
    c = httpx.Client(base_url=base, timeout=30)
    for m in [
        "+32470123456",
        "0470123456",
        "%00",
        "x" * 3000,
        "%E2%80%AE",
        "+",
        "+999999999999999999999",
        "' OR 1=1",
    ]:
        for hdr in ({"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {weak}"}, {}):
            r = c.get(f"/api/v1/lines/{m}/balance", headers=hdr)
            if r.status_code >= 500 and r.status_code != 503:
                bad.append((m[:20], list(hdr)[:1], r.status_code, r.text[:300]))
            unentitled = hdr.get("Authorization") in (None, f"Bearer {weak}")
            if unentitled and r.status_code == 200:
                bad.append(("unauth 200", m[:20], r.text[:200]))
    assert not bad, bad


def test_webhook_a_ref_with_b_metadata(seeded: None, live_server: Any, payments_simulator: str) -> None:
    """A validly signed succeeded event carrying order A's PaymentIntent id but order B's metadata."""
    base = live_server.url
    a = _place(base, "xa1")
    b = _place(base, "xb1")
    from topup.db.models import Payment  # noqa: PLC0415

    ref_a = Payment.objects.get(id=a["payment"]["id"]).provider_ref
    body = succeeded_event(b, ref_a, "evt_cross")
    r = httpx.post(base + WEBHOOK, content=body, headers=signed_headers(body), timeout=30)
    sb = httpx.get(base + f"/api/v1/orders/{b['id']}", headers=owner(b), timeout=30).json()["status"]
    pb = Payment.objects.get(id=b["payment"]["id"])
    assert (r.status_code, sb) == (200, "awaiting_payment"), (
        r.status_code,
        r.text[:200],
        sb,
        pb.status,
        pb.provider_ref,
        ref_a,
    )


@pytest.mark.parametrize(
    "raw_type", ["payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.processing"]
)
def test_webhook_a_ref_with_b_metadata_other_types(
    seeded: None, live_server: Any, payments_simulator: str, raw_type: str
) -> None:
    """The same mismatch on the other PaymentIntent events: B's payment does not move."""
    from topup.db.models import Payment  # noqa: PLC0415

    base = live_server.url
    a, b = _place(base, f"xa-{raw_type}"), _place(base, f"xb-{raw_type}")
    ref_a = Payment.objects.get(id=a["payment"]["id"]).provider_ref
    event = json.loads(succeeded_event(b, ref_a, f"evt_cross_{raw_type}"))
    event["type"] = raw_type
    body = json.dumps(event).encode()
    r = httpx.post(base + WEBHOOK, content=body, headers=signed_headers(body), timeout=30)
    assert (r.status_code, r.json()["outcome"]) == (200, "ignored"), r.text[:200]
    ids = [a["payment"]["id"], b["payment"]["id"]]
    statuses = {p.id: p.status for p in Payment.objects.filter(id__in=ids)}
    assert set(statuses.values()) == {"requires_action"}, statuses


def test_order_placement_with_promo_history_odd(seeded: None, carriers: Any) -> None:
    from tests.support import fake_payments  # noqa: PLC0415
    from topup.services.promotion_seed import FLYER_CODE, seed_demo_promotions  # noqa: PLC0415

    seed_demo_promotions()
    bad = []
    with fake_payments.installed():
        n = 0
        for msisdn, iccid, promo, plan in [
            ("0470123456", "", FLYER_CODE, "proximus-credit-10"),
            ("0470123456", "", FLYER_CODE, "proximus-credit-10"),
            ("", "", FLYER_CODE, "proximus-credit-10"),
            ("", "8932" + "9" * 18, FLYER_CODE, "esim-7d-5gb"),
            ("", "\u00e9" * 22, "", "esim-7d-5gb"),
            ("+32470123456", "", "x" * 200, "proximus-credit-10"),
            ("0470123456", "", "\u4e2d\u6587", "proximus-credit-10"),
            ("0470 12 34 56", "8932000000000000001", FLYER_CODE, "proximus-credit-10"),
        ]:
            for path in ("/api/v1/quotes", "/api/v1/orders"):
                n += 1
                body = {
                    "plan_id": plan,
                    "msisdn": msisdn,
                    "iccid": iccid,
                    "promo_code": promo,
                    "payment_method": "card",
                }
                r = Client().post(
                    path, body, content_type="application/json", headers={"Idempotency-Key": f"p{n}"}
                )
                if r.status_code >= 500:
                    bad.append((path, msisdn, iccid, promo[:20], r.status_code, r.content[:300]))
    assert not bad, bad


def test_usage_copy_round_trip(esim_plan: str) -> None:  # noqa: F811
    from datetime import datetime as dt  # noqa: PLC0415

    from topup.db.models import UsageRow  # noqa: PLC0415

    key = create_key(["usage:write"], name="usage-rt")
    line = make_line()
    make_bundle(line)
    base = usage("x", line, KB)
    recent = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
    ancient = {
        **base,
        "id": "ancient",
        "start": "0002-01-01T00:00:00+23:59",
        "end": "0002-01-01T00:00:01+23:59",
    }
    refused = Client().post(
        "/api/v1/usage", json.dumps({"records": [ancient]}), content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    assert refused.status_code == 400, refused.content[:400]  # older than the retention: never rated
    assert json.loads(refused.content)["error"]["code"] == "usage_too_old"
    assert not UsageRow.objects.filter(id="ancient").exists()
    recs = [
        {**base, "id": "\u00e9\u4e2d\U0001f600" + "\u4e2d" * 100},
        {
            **base,
            "id": "early",  # as early as the retention lets usage be rated, at the furthest offset
            "start": f"{recent}T00:00:00+23:59",
            "end": f"{recent}T00:00:00.000001+23:59",
        },
        {
            **base,
            "id": "late",
            "start": "9998-12-31T23:59:59.999999-23:59",
            "end": "9998-12-31T23:59:59.999999-23:59",
        },
        {**base, "id": "big", "bytes": 2**53},
    ]
    r = Client().post(
        "/api/v1/usage",
        json.dumps({"records": recs}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.content[:400]
    assert json.loads(r.content)["results"][0]["id"] == recs[0]["id"]
    for rec in recs:
        row = UsageRow.objects.get(id=rec["id"])
        assert (row.start, row.end) == (dt.fromisoformat(rec["start"]), dt.fromisoformat(rec["end"])), (
            rec,
            row.start,
            row.end,
        )
        assert row.kb == -(-rec["bytes"] // 1024)
