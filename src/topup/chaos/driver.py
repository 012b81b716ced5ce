"""One order of a chaos run, the way its customer would place it: over the API, by SMS through the SMSC
simulator's phones, over USSD (signed as a gateway signs), or with a voucher PIN; then paid, declined,
abandoned or sent a forged webhook. Every answer is written down in an `Outcome` for the final checks.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx

from topup.channels.gateway_auth import sign_body
from topup.chaos.relay import Json, Relay
from topup.chaos.schedule import OrderPlan
from topup.settings import CONFIG

RETRY_FOR_S = 30.0  # a request is retried this long while its server is down (killed, restarting)
LINK = re.compile(r"https?://\S+")


@dataclass
class Outcome:
    plan: OrderPlan
    order_id: str | None = None
    token: str | None = None
    intent_id: str | None = None
    answer: str = ""  # how the channel answered: "201", "422 plan_not_available", the SMS reply...
    paid: bool = False  # the payer's money was taken (checkout succeeded, or a voucher accepted)
    declined: bool = False
    forged_status: int | None = None
    cancel: str = ""  # the eSIM cancel's answer: "202" or the refusal
    pin: str = ""
    serial: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Peers:
    client: httpx.Client
    relay: Relay
    ussd_key: str
    vouchers: list[tuple[str, str]]  # (serial, pin) rows of the generated batch
    seed: int


def request(client: httpx.Client, method: str, url: str, **kwargs: object) -> httpx.Response | None:
    """The answer, retried while the peer is down or restarting (transport errors, 502/503); None if never."""
    deadline = time.monotonic() + RETRY_FOR_S
    pause = 0.2
    while True:
        try:
            response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
            if response.status_code not in {502, 503} or time.monotonic() > deadline:
                return response
        except httpx.TransportError:
            if time.monotonic() > deadline:
                return None
        time.sleep(pause)
        pause = min(pause * 1.5, 2.0)


def _json(response: httpx.Response | None) -> Json:
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(response: httpx.Response | None) -> str:
    if response is None:
        return "no answer"
    error = _json(response).get("error")
    code = error.get("code") if isinstance(error, dict) else _json(response).get("code")
    return f"{response.status_code} {code or ''}".strip()


def run_order(peers: Peers, plan: OrderPlan) -> Outcome:
    outcome = Outcome(plan)
    if plan.kind.startswith("voucher_"):
        _voucher(peers, outcome)
    elif plan.kind == "sms_buy":
        _sms_buy(peers, outcome)
    else:
        _api_order(peers, outcome)
    return outcome


def _api_order(peers: Peers, outcome: Outcome) -> None:
    plan = outcome.plan
    key = {"Idempotency-Key": f"chaos-{peers.seed}-{plan.index}"}
    body: dict[str, object]
    if plan.kind == "api_esim":
        url = f"{CONFIG.public_url}/api/v1/esim/orders"
        body = {"plan_id": plan.plan_id, "payment_method": "card"}
    else:
        url = f"{CONFIG.public_url}/api/v1/orders"
        body = {
            "plan_id": plan.plan_id,
            "msisdn": plan.msisdn,
            "payment_method": "card",
            "network_confirmed": True,
        }
    response = request(peers.client, "POST", url, json=body, headers=key)
    outcome.answer = _describe(response)
    order = _json(response)
    if response is None or response.status_code != 201:
        return
    outcome.order_id, outcome.token = str(order["id"]), order.get("order_token")  # type: ignore[assignment]
    payment = order.get("payment")
    checkout = payment.get("checkout_url") if isinstance(payment, dict) else None
    if not isinstance(checkout, str):
        outcome.notes.append("no checkout url")
        return
    outcome.intent_id = urlsplit(checkout).path.rsplit("/", 1)[-1]
    if plan.webhook == "duplicate":
        peers.relay.duplicate.add(outcome.order_id)
    if plan.payer == "abandon":
        if plan.webhook.startswith("forge_"):
            intent = _as_intent(
                _json(request(peers.client, "GET", _intent_url(outcome.intent_id), headers=_provider_auth()))
            )
            if intent:
                outcome.forged_status = peers.relay.forge(outcome.order_id, intent, plan.webhook)
        return
    _checkout(peers, outcome, checkout, plan.payer)
    if plan.cancel_esim and outcome.paid:
        _cancel_esim(peers, outcome)


def _checkout(peers: Peers, outcome: Outcome, checkout: str, action: str) -> None:
    answer = _json(
        request(
            peers.client, "POST", checkout, data={"action": action}, headers={"Accept": "application/json"}
        )
    )
    # A hosted page answers its PaymentIntent's status; a card's Checkout Session page its own.
    outcome.paid = answer.get("status") in PAID_AT_CHECKOUT
    outcome.declined = action == "decline" or (answer.get("status") not in {None, *PAID_AT_CHECKOUT})


PAID_AT_CHECKOUT = frozenset({"succeeded", "complete"})


def _intent_url(intent_id: str) -> str:
    """A card's payment is a Checkout Session (`cs_...`); the other methods' a PaymentIntent."""
    if intent_id.startswith("cs_"):
        return f"{CONFIG.payments_url}/v1/checkout/sessions/{intent_id}"
    return f"{CONFIG.payments_url}/v1/payment_intents/{intent_id}"


def _as_intent(found: Json) -> Json:
    """What a forged `payment_intent.succeeded` carries: the intent, or for an unpaid Checkout Session (no
    intent yet) one made up from the session's amount and metadata, as a confused provider might send."""
    if found.get("object") != "checkout.session":
        return found
    return {
        "id": f"pi_forged_{found.get('id')}", "object": "payment_intent", "amount": found.get("amount_total"),
        "currency": found.get("currency"), "metadata": found.get("metadata"), "status": "requires_action",
    }  # fmt: skip


def _provider_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {CONFIG.payments_api_key}"}


def order_headers(outcome: Outcome) -> dict[str, str]:
    return {"X-Order-Token": outcome.token} if outcome.token else {}


def _cancel_esim(peers: Peers, outcome: Outcome) -> None:
    """Wait (bounded) for the eSIM to be delivered, then cancel it through the API."""
    url = f"{CONFIG.public_url}/api/v1/orders/{outcome.order_id}"
    status = ""
    for _ in range(40):
        status = str(_json(request(peers.client, "GET", url, headers=order_headers(outcome))).get("status"))
        if status in {"delivered", "refunded", "expired", "cancelled"}:
            break
        time.sleep(0.5)
    if status != "delivered":
        outcome.cancel = f"not cancelled: {status}"
        return
    cancel = f"{CONFIG.public_url}/api/v1/esim/orders/{outcome.order_id}/cancel"
    outcome.cancel = _describe(request(peers.client, "POST", cancel, headers=order_headers(outcome)))


def _phone_url(msisdn: str) -> str:
    return f"http://{CONFIG.smsc_host or '127.0.0.1'}:{CONFIG.smsc_http_port}/phones/{msisdn}"


def sms(peers: Peers, msisdn: str, text: str, wait_s: float = 20.0) -> str:
    """Send an SMS from the phone and return the platform's first reply to it ("" if none came)."""
    inbox = _json(request(peers.client, "GET", f"{_phone_url(msisdn)}/inbox"))
    since = inbox.get("last_seq", 0)
    sent = request(peers.client, "POST", f"{_phone_url(msisdn)}/send", json={"text": text})
    if sent is None or sent.status_code >= 400:
        return ""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        messages = _json(
            request(peers.client, "GET", f"{_phone_url(msisdn)}/inbox", params={"since": str(since)})
        )
        found = messages.get("messages")
        texts = [m.get("text") for m in found if isinstance(m, dict)] if isinstance(found, list) else []
        if texts and isinstance(texts[0], str):
            return texts[0]
    return ""


def _sms_buy(peers: Peers, outcome: Outcome) -> None:
    plan = outcome.plan
    euros = plan.plan_id.rsplit("-", 1)[-1]
    reply = sms(peers, plan.msisdn, f"BUY C{euros}")
    outcome.answer = reply[:120]
    link = LINK.search(reply)
    if link is None:
        return
    outcome.intent_id = urlsplit(link.group(0)).path.rsplit("/", 1)[-1]
    intent = _json(request(peers.client, "GET", _intent_url(outcome.intent_id), headers=_provider_auth()))
    metadata = intent.get("metadata")
    order_id = metadata.get("order_id") if isinstance(metadata, dict) else None
    outcome.order_id = order_id if isinstance(order_id, str) else None
    _checkout(peers, outcome, link.group(0), "approve")


def _voucher(peers: Peers, outcome: Outcome) -> None:
    plan = outcome.plan
    row = plan.voucher if plan.voucher >= 0 else plan.reuse_voucher
    if row >= len(peers.vouchers):
        outcome.notes.append("no voucher left")
        return
    outcome.serial, outcome.pin = peers.vouchers[row]
    if plan.kind == "voucher_sms":
        outcome.answer = sms(peers, plan.msisdn, f"TOPUP {outcome.pin}")[:120]
        outcome.paid = "accepted" in outcome.answer
    elif plan.kind == "voucher_ussd":
        form = {"sessionId": f"chaos-{peers.seed}-{plan.index}", "serviceCode": f"*121*{outcome.pin}#",
                "phoneNumber": plan.msisdn, "text": ""}  # fmt: skip
        body = urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign_body(peers.ussd_key, body)}
        response = request(
            peers.client, "POST", f"{CONFIG.public_url}/channels/ussd", content=body, headers=headers
        )
        outcome.answer = (response.text if response is not None else "no answer")[:120]
        outcome.paid = response is not None and response.status_code == 200 and "END" in response.text[:4]
    else:
        redeem = {"pin": outcome.pin, "msisdn": plan.msisdn}
        key = {"Idempotency-Key": f"chaos-{peers.seed}-{plan.index}"}
        response = request(
            peers.client, "POST", f"{CONFIG.public_url}/api/v1/vouchers/redeem", json=redeem, headers=key
        )
        outcome.answer = _describe(response)
        order = _json(response)
        if response is not None and response.status_code == 201:
            outcome.paid = True
            outcome.order_id = str(order.get("id"))
            token = order.get("order_token")
            outcome.token = token if isinstance(token, str) else None
