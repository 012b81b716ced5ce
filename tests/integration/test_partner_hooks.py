"""Partners' status callbacks: a key registers a URL (its secret shown once); each status change of the
orders that key placed is POSTed, signed so that the partner can verify it, retried after a 500 with the
same event id and bytes (the partner de-duplicates), never sent for another key's orders; in production a
URL on loopback or a private range is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import Client

from tests.integration.test_order_push import make_order
from topup.channels.api.auth import create_key
from topup.db.models import Job, Order, PartnerEvent, PartnerHook
from topup.domain.errors import InvalidInput
from topup.domain.orders import OrderStatus
from topup.services import partner_hooks
from topup.services.transitions import move
from topup.settings import CONFIG
from topup.worker import HANDLERS

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@dataclass
class Partner:
    """A partner's endpoint on loopback: records each POST, answers 500 to the first `failures`."""

    url: str = ""
    failures: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def partner() -> Iterator[Partner]:
    state = Partner()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            failing = state.failures > 0
            state.failures -= 1
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/topup-events"
    yield state
    server.shutdown()
    server.server_close()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _deliver(order_id: str) -> None:
    for new in (OrderStatus.DELIVERING, OrderStatus.DELIVERED):
        with transaction.atomic():
            move(Order.objects.get(id=order_id), new, at=AT)


def _run(event_id: str, attempt: int) -> bool:
    return HANDLERS[partner_hooks.JOB_KIND](event_id, attempt).done


def test_a_partner_registers_once_and_receives_signed_verifiable_events(
    seeded: None, partner: Partner
) -> None:
    key = create_key(["orders:write"], key_id="key_partner_a")
    client = Client()
    first = client.put("/api/v1/partner/callback", {"url": partner.url}, content_type="application/json",
                       headers=_bearer(key))  # fmt: skip
    again = client.put("/api/v1/partner/callback", {"url": partner.url}, content_type="application/json",
                       headers=_bearer(key))  # fmt: skip
    shown = client.get("/api/v1/partner/callback", headers=_bearer(key))

    assert first.status_code == 200
    secret = first.json()["signing_secret"]
    assert secret.startswith("phs_")
    assert again.json() == {"url": partner.url, "signing_secret": None}  # shown once
    assert shown.json() == {"url": partner.url, "signing_secret": None}

    order = make_order("ord_partner_a", "paid", api_key_id="key_partner_a")
    _deliver(order.id)
    events = list(PartnerEvent.objects.filter(order_id=order.id).order_by("created_at", "id"))
    assert [e.status for e in events] == ["delivering", "delivered"]
    assert Job.objects.filter(kind=partner_hooks.JOB_KIND, subject_id__in=[e.id for e in events]).count() == 2
    for event in events:
        assert _run(event.id, 1)

    assert len(partner.received) == 2
    for (headers, body), event in zip(partner.received, events, strict=True):
        assert headers["topup-event-id"] == event.id
        assert partner_hooks.verify(secret, headers["topup-signature"], body, int(time.time()))
        assert not partner_hooks.verify(secret, headers["topup-signature"], body + b" ", int(time.time()))
        assert not partner_hooks.verify("phs_other", headers["topup-signature"], body, int(time.time()))
        late = int(time.time()) + partner_hooks.TOLERANCE_S + 60
        assert not partner_hooks.verify(secret, headers["topup-signature"], body, late)  # a replay, later
    assert b'"status":"delivered"' in partner.received[-1][1]


def test_a_failed_callback_is_retried_with_the_same_event_id_and_bytes(
    seeded: None, partner: Partner
) -> None:
    create_key(["orders:write"], key_id="key_partner_b")
    partner_hooks.set_hook("key_partner_b", partner.url)
    order = make_order("ord_partner_b", "delivering", api_key_id="key_partner_b")
    with transaction.atomic():
        move(order, OrderStatus.DELIVERED, at=AT)
    event = PartnerEvent.objects.get(order_id=order.id)
    partner.failures = 1

    result = HANDLERS[partner_hooks.JOB_KIND](event.id, 1)
    assert not result.done
    assert result.retry_in_s > 0  # the worker runs it again later, with backoff
    assert PartnerEvent.objects.get(id=event.id).last_error == "HTTP 500"
    assert _run(event.id, 2)
    assert _run(event.id, 3)  # a stray rerun after success sends nothing more

    (first_headers, first_body), (second_headers, second_body) = partner.received
    assert first_headers["topup-event-id"] == second_headers["topup-event-id"] == event.id
    assert first_body == second_body  # the same event: the partner keeps the first and drops the second
    assert PartnerEvent.objects.get(id=event.id).delivered_at is not None


def test_no_callback_for_another_keys_orders_or_for_orders_without_a_key(
    seeded: None, partner: Partner
) -> None:
    create_key(["orders:write"], key_id="key_partner_c")
    create_key(["orders:write"], key_id="key_partner_d")
    partner_hooks.set_hook("key_partner_c", partner.url)
    theirs = make_order("ord_partner_d", "delivering", api_key_id="key_partner_d")
    web = make_order("ord_partner_web", "delivering")

    for order in (theirs, web):
        with transaction.atomic():
            move(order, OrderStatus.DELIVERED, at=AT)

    assert not PartnerEvent.objects.exists()
    assert not Job.objects.filter(kind=partner_hooks.JOB_KIND).exists()


def test_a_cleared_callback_sends_nothing_more(seeded: None, partner: Partner) -> None:
    key = create_key(["orders:write"], key_id="key_partner_e")
    partner_hooks.set_hook("key_partner_e", partner.url)
    order = make_order("ord_partner_e", "delivering", api_key_id="key_partner_e")
    with transaction.atomic():
        move(order, OrderStatus.DELIVERED, at=AT)

    cleared = Client().delete("/api/v1/partner/callback", headers=_bearer(key))

    assert cleared.json() == {"url": None, "signing_secret": None}
    assert _run(PartnerEvent.objects.get(order_id=order.id).id, 1)  # done: nowhere to send it
    assert partner.received == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://203.0.113.9/hook",  # not https
        "ftp://example.com/hook",
        "https://user:pass@example.com/hook",
    ],
)
def test_production_refuses_callback_urls_on_loopback_private_ranges_or_without_https(
    seeded: None, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setattr(partner_hooks, "CONFIG", replace(CONFIG, env="production"))
    key = create_key(["orders:write"], key_id="key_partner_f")

    with pytest.raises(InvalidInput) as refused:
        partner_hooks.check_url(url)
    answer = Client().put("/api/v1/partner/callback", {"url": url}, content_type="application/json",
                          headers=_bearer(key))  # fmt: skip

    assert refused.value.code == "invalid_callback_url"
    assert answer.status_code in {400, 422}  # 422: not even the shape the API documents
    assert answer.json()["error"]["code"] in {"invalid_callback_url", "invalid_request"}
    assert not PartnerHook.objects.exists()


def test_the_demo_and_tests_may_call_back_on_loopback(seeded: None, partner: Partner) -> None:
    assert partner_hooks.check_url(partner.url) == partner.url


def test_a_callback_needs_a_valid_api_key(seeded: None) -> None:
    answer = Client().put("/api/v1/partner/callback", {"url": "https://example.com/"},
                          content_type="application/json")  # fmt: skip
    assert answer.status_code == 401


def test_staff_set_a_partners_callback_in_the_back_office_and_see_its_secret_once(
    seeded: None, partner: Partner
) -> None:
    from tests.integration.test_backoffice import staff  # noqa: PLC0415

    create_key(["orders:write"], key_id="key_partner_g", name="Night shop chain")
    boss = staff(superuser=True)

    added = boss.post("/admin/topup/partnerhook/add/", {"api_key": "key_partner_g", "url": partner.url},
                      follow=True)  # fmt: skip
    listing = boss.get("/admin/topup/partnerhook/")
    events = boss.get("/admin/topup/partnerevent/")

    assert added.status_code == 200
    assert "Signing secret (shown once" in added.text
    secret = PartnerHook.objects.get(api_key_id="key_partner_g").secret
    assert secret in added.text
    assert partner.url in listing.text
    assert secret not in listing.text
    assert events.status_code == 200
