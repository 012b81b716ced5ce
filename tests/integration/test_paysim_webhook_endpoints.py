"""The payment simulator's webhook endpoints, as Stripe's: each is sent only the event types it enabled,
signed with its own secret; `/v1/webhook_endpoints` through the unmodified SDK. No database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import stripe

from tests.support.stripe_sim import API_KEY, SECRET, WAIT_S, WebhookReceiver, admin, receiving, simulator
from topup.adapters.payments.signature import verify
from topup.ports import InvalidSignature
from topup.settings import DEFAULT_STRIPE_API_VERSION


@dataclass
class Sim:
    base_url: str
    client: stripe.StripeClient
    first: WebhookReceiver  # the command line's endpoint: payment_intent.succeeded only
    other: WebhookReceiver
    other_url: str


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    with (
        receiving() as (first, first_url),
        receiving() as (other, other_url),
        simulator(first_url, "--webhook-events", "payment_intent.succeeded") as base_url,
    ):
        client = stripe.StripeClient(
            API_KEY, base_addresses={"api": base_url}, stripe_version=DEFAULT_STRIPE_API_VERSION,
            max_network_retries=0,
        )  # fmt: skip
        yield Sim(base_url, client, first, other, other_url)


def _paid_and_refunded(sim: Sim) -> str:
    intent = sim.client.v1.payment_intents.create(
        params={"amount": 700, "currency": "eur", "confirm": True, "payment_method": "pm_card_visa"}
    )
    assert intent.status == "succeeded"
    sim.client.v1.refunds.create(params={"payment_intent": intent.id})
    return str(intent.id)


def _settled(sim: Sim) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    with admin(sim.base_url) as client:
        while True:
            stats: dict[str, Any] = client.get("/summary").json()["webhooks"]
            if stats["pending"] == 0:
                return stats
            assert time.monotonic() < deadline, f"webhooks still pending: {stats}"
            time.sleep(0.05)


def _events(sim: Sim, intent_id: str) -> dict[str, int]:
    """Each emitted event's type -> how many endpoints it was for (its `pending_webhooks`)."""
    with admin(sim.base_url) as client:
        found = client.get("/events", params={"object": intent_id}).json()["data"]
    return {e["type"]: e["pending_webhooks"] for e in found}


def _types(receiver: WebhookReceiver, intent_id: str) -> list[str]:
    return [str(json.loads(d.body)["type"]) for d in receiver.deliveries if intent_id.encode() in d.body]


def test_each_endpoint_gets_only_the_events_it_enabled_signed_with_its_own_secret(sim: Sim) -> None:
    created = sim.client.v1.webhook_endpoints.create(
        params={"url": sim.other_url, "enabled_events": ["charge.refunded", "refund.failed"]}
    ).to_dict()
    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    assert created["id"].startswith("we_")
    assert {k: created[k] for k in ("object", "url", "enabled_events", "status", "livemode")} == {
        "object": "webhook_endpoint", "url": sim.other_url, "status": "enabled", "livemode": False,
        "enabled_events": ["charge.refunded", "refund.failed"],
    }  # fmt: skip
    assert isinstance(created["created"], int)
    try:
        intent_id = _paid_and_refunded(sim)
        sim.first.wait_for(intent_id, '"type":"payment_intent.succeeded"')
        [refunded] = sim.other.wait_for(intent_id, '"type":"charge.refunded"')
        _settled(sim)
        assert _types(sim.first, intent_id) == ["payment_intent.succeeded"]
        assert _types(sim.other, intent_id) == ["charge.refunded"]
        header = refunded.headers["Stripe-Signature"]
        verify(refunded.body, header, [secret], int(time.time()), 300)
        with pytest.raises(InvalidSignature):
            verify(refunded.body, header, [SECRET], int(time.time()), 300)
        assert _events(sim, intent_id) == {"payment_intent.succeeded": 1, "charge.refunded": 1}
    finally:
        sim.client.v1.webhook_endpoints.delete(created["id"])


def test_an_endpoint_is_retrieved_listed_updated_disabled_and_deleted(sim: Sim) -> None:
    endpoints = sim.client.v1.webhook_endpoints
    created = endpoints.create(params={"url": sim.other_url, "enabled_events": ["*"], "description": "all"})
    fetched = endpoints.retrieve(created.id).to_dict()
    assert "secret" not in fetched
    assert (fetched["enabled_events"], fetched["description"]) == (["*"], "all")
    listed = [e.id for e in endpoints.list(params={"limit": 100}).data]
    assert created.id in listed
    assert len(listed) == 2  # and the command line's

    disabled = endpoints.update(created.id, params={"disabled": True, "url": f"{sim.other_url}?moved=1"})
    assert (disabled.status, disabled.url) == ("disabled", f"{sim.other_url}?moved=1")
    intent_id = _paid_and_refunded(sim)
    sim.first.wait_for(intent_id, '"type":"payment_intent.succeeded"')
    _settled(sim)
    assert _types(sim.other, intent_id) == []
    assert _events(sim, intent_id) == {"payment_intent.succeeded": 1, "charge.refunded": 0}

    enabled = endpoints.update(created.id, params={"disabled": False, "enabled_events": ["refund.updated"]})
    assert (enabled.status, enabled.enabled_events) == ("enabled", ["refund.updated"])
    deleted = endpoints.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(stripe.InvalidRequestError) as gone:
        endpoints.retrieve(created.id)
    assert (gone.value.http_status, gone.value.code) == (404, "resource_missing")


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"url": "https://example.test/hook"}, "enabled_events"),
        ({"url": "https://example.test/hook", "enabled_events": ["charge.refunded", "Not An Event"]},
         "enabled_events[1]"),
        ({"enabled_events": ["*"]}, "url"),
        ({"url": "ftp://example.test/hook", "enabled_events": ["*"]}, "url"),
    ],
)  # fmt: skip
def test_an_endpoint_without_a_url_or_with_a_bad_event_type_is_refused(
    sim: Sim, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sim.client.v1.webhook_endpoints.create(params=params)  # type: ignore[arg-type]
    assert (refused.value.http_status, refused.value.param) == (400, param)
