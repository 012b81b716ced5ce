"""HTTP carrier gateway: the production adapter of the `CarrierGateway` port, speaking the carriers' JSON API.

Credit is a top-up of an amount; a bundle is the activation of one of the carrier's products (its credit
untouched). Both take our reference, in one reference space, so `status` and `cancel` answer for either;
the balance answer lists the line's bundles with what is left and until when.

One shared `httpx.Client` (keep-alive pool, safe to use from many worker threads); the worker's batches
send top-ups and activations through `topup_async`/`activate_bundle_async` on an `httpx.AsyncClient` per
event loop (the worker has one), so that the calls in flight share a thread. Business outcomes and
transport trouble both come back as a `CarrierResult`; the rule is that anything that may have reached the
carrier without a readable answer is UNKNOWN (ask `status()`), and only what surely did nothing is RETRY:

    200 confirmed -> CONFIRMED      409, 422, other 4xx -> REJECTED     401/403, 429, 500/502/503 -> RETRY
    connect refused or timed out, pool exhausted -> RETRY "unreachable" (nothing was sent)
    read/write timeout, reset after sending, 504, unreadable body -> UNKNOWN
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

import httpx

from topup.adapters import observed
from topup.domain.errors import InvalidInput
from topup.domain.money import Money
from topup.metrics.peers import peer_call
from topup.ports import CarrierBalance, CarrierBundle, CarrierOutcome, CarrierResult

POOL_SIZE: Final = 32  # one connection per worker thread
# The worker's one event loop carries every batch's calls at once: more connections, a few kept open.
ASYNC_LIMITS: Final = httpx.Limits(max_connections=256, max_keepalive_connections=64)
RETRY_STATUSES: Final = frozenset({401, 403, 429, 500, 502, 503})
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _UnreadableAnswerError(ValueError):
    """The carrier answered something that is not the JSON object we expect."""


def _seg(value: str) -> str:
    return quote(value, safe="")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise _UnreadableAnswerError(f"not JSON (HTTP {response.status_code})") from exc
    if not isinstance(body, dict):
        raise _UnreadableAnswerError(f"not a JSON object (HTTP {response.status_code})")
    return body


def _code(body: dict[str, Any], status: int) -> str:
    code = body.get("code")
    return code if isinstance(code, str) and code else f"http_{status}"


def _confirmed(body: dict[str, Any]) -> CarrierResult:
    transaction_id, balance_minor = body.get("transaction_id"), body.get("balance_minor")
    currency = body.get("currency", "EUR")
    if (
        not isinstance(transaction_id, str)
        or not isinstance(balance_minor, int)
        or not isinstance(currency, str)
    ):
        raise _UnreadableAnswerError("confirmed answer without transaction_id or balance")
    try:
        balance_after = Money(balance_minor, currency)
    except (InvalidInput, TypeError) as exc:
        raise _UnreadableAnswerError(str(exc)) from exc
    return CarrierResult(CarrierOutcome.CONFIRMED, carrier_ref=transaction_id, balance_after=balance_after)


def _purchase_confirmed(body: dict[str, Any], reference: str) -> CarrierResult:
    balance_minor, currency = body.get("balance_minor"), body.get("currency", "EUR")
    if not isinstance(balance_minor, int) or not isinstance(currency, str):
        raise _UnreadableAnswerError("confirmed purchase without balance")
    try:
        balance_after = Money(balance_minor, currency)
    except (InvalidInput, TypeError) as exc:
        raise _UnreadableAnswerError(str(exc)) from exc
    return CarrierResult(CarrierOutcome.CONFIRMED, carrier_ref=reference, balance_after=balance_after)


def _failure(exc: httpx.HTTPError | _UnreadableAnswerError) -> CarrierResult:
    if isinstance(exc, _NOT_SENT):
        return CarrierResult(CarrierOutcome.RETRY, code="unreachable")
    if isinstance(exc, _UnreadableAnswerError):
        return CarrierResult(CarrierOutcome.UNKNOWN, code="unreadable_answer")
    return CarrierResult(CarrierOutcome.UNKNOWN, code="timeout")


def _http_status_result(response: httpx.Response, body: dict[str, Any]) -> CarrierResult:
    """The outcome of a non-200 answer: refused for good, refused for now, or unknown."""
    status = response.status_code
    if status in RETRY_STATUSES:
        return CarrierResult(CarrierOutcome.RETRY, code=_code(body, status))
    if 400 <= status < 500:
        return CarrierResult(CarrierOutcome.REJECTED, code=_code(body, status))
    return CarrierResult(CarrierOutcome.UNKNOWN, code=_code(body, status))


def _topup_request(
    network_id: str, msisdn: str, amount: Money, reference: str
) -> tuple[str, dict[str, object], Callable[[dict[str, Any]], CarrierResult]]:
    payload: dict[str, object] = {
        "reference": reference,
        "msisdn": msisdn,
        "amount_minor": amount.amount_minor,
        "currency": amount.currency,
    }
    return f"/v1/networks/{_seg(network_id)}/topups", payload, _confirmed


def _activation_request(
    network_id: str, msisdn: str, product_ref: str, price: Money, reference: str
) -> tuple[str, dict[str, object], Callable[[dict[str, Any]], CarrierResult]]:
    payload: dict[str, object] = {
        "reference": reference,
        "msisdn": msisdn,
        "product_ref": product_ref,
        "price_minor": price.amount_minor,
        "currency": price.currency,
    }
    return f"/v1/networks/{_seg(network_id)}/activations", payload, _confirmed


def _written(response: httpx.Response, confirmed: Callable[[dict[str, Any]], CarrierResult]) -> CarrierResult:
    """The outcome of a write's answer; raises _UnreadableAnswerError for what cannot be read."""
    body = _json(response)
    if response.status_code == 200 and body.get("status") == "confirmed":
        return confirmed(body)
    if response.status_code == 200:
        raise _UnreadableAnswerError(f"unexpected status {body.get('status')!r}")
    return _http_status_result(response, body)


class HttpCarrierGateway:
    """`CarrierGateway` over the carriers' HTTP JSON API (the carrier simulator speaks it too)."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self._options: dict[str, Any] = {
            "base_url": base_url.rstrip("/"),
            "headers": {"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            "timeout": httpx.Timeout(timeout_s),
            "limits": httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
        }
        self._client = httpx.Client(
            **self._options, transport=observed.transport("carrier", self._options["limits"])
        )
        # One async client per event loop (each worker thread keeps its loop): a client is bound to its loop.
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpCarrierGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def topup(self, network_id: str, msisdn: str, amount: Money, reference: str) -> CarrierResult:
        return self._write(network_id, "topup", *_topup_request(network_id, msisdn, amount, reference))

    def activate_bundle(
        self, network_id: str, msisdn: str, product_ref: str, price: Money, reference: str
    ) -> CarrierResult:
        """Activate the carrier's product on the line; the credit stays. Same reference space as top-ups."""
        request = _activation_request(network_id, msisdn, product_ref, price, reference)
        return self._write(network_id, "activate_bundle", *request)

    async def topup_async(self, network_id: str, msisdn: str, amount: Money, reference: str) -> CarrierResult:
        """`topup` without holding a thread while the carrier answers."""
        return await self._write_async(
            network_id, "topup", *_topup_request(network_id, msisdn, amount, reference)
        )

    async def activate_bundle_async(
        self, network_id: str, msisdn: str, product_ref: str, price: Money, reference: str
    ) -> CarrierResult:
        """`activate_bundle` without holding a thread while the carrier answers."""
        request = _activation_request(network_id, msisdn, product_ref, price, reference)
        return await self._write_async(network_id, "activate_bundle", *request)

    def _write(
        self,
        network_id: str,
        operation: str,
        path: str,
        payload: dict[str, object],
        confirmed: Callable[[dict[str, Any]], CarrierResult],
    ) -> CarrierResult:
        """POST a request whose effect the carrier decides on arrival: confirmed, refused, or unknown."""
        try:
            with peer_call(f"carrier:{network_id}", operation) as call:
                response = call.answer(self._client.post(path, json=payload))
            return _written(response, confirmed)
        except (httpx.HTTPError, _UnreadableAnswerError) as exc:
            return _failure(exc)

    async def _write_async(
        self,
        network_id: str,
        operation: str,
        path: str,
        payload: dict[str, object],
        confirmed: Callable[[dict[str, Any]], CarrierResult],
    ) -> CarrierResult:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = httpx.AsyncClient(
                **self._options, transport=observed.async_transport("carrier", ASYNC_LIMITS)
            )
        try:
            with peer_call(f"carrier:{network_id}", operation) as call:
                response = call.answer(await client.post(path, json=payload))
            return _written(response, confirmed)
        except (httpx.HTTPError, _UnreadableAnswerError) as exc:
            return _failure(exc)

    async def aclose_async(self) -> None:
        """Close the running event loop's async client (the worker's stop); a later call opens a new one."""
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def float_balance(self) -> Money | None:
        return None  # a carrier's own gateway bills us afterwards: there is no float to watch

    def buy_from_balance(
        self, network_id: str, msisdn: str, plan_code: str, price: Money, reference: str
    ) -> CarrierResult:
        """Buy the carrier's bundle product `plan_code` (its product ref) with the line's credit; the bundle
        is activated with it. Replaying `reference` debits at most once."""
        payload = {"reference": reference, "product_ref": plan_code, "price_minor": price.amount_minor}
        path = f"/v1/networks/{_seg(network_id)}/lines/{_seg(msisdn)}/purchases"
        return self._write(
            network_id, "buy_from_balance", path, payload, lambda body: _purchase_confirmed(body, reference)
        )

    def status(self, network_id: str, reference: str) -> CarrierResult:
        path = f"/v1/networks/{_seg(network_id)}/topups/{_seg(reference)}"
        return self._reference_call(network_id, "status", "GET", path)

    def cancel(self, network_id: str, reference: str) -> CarrierResult:
        """Void a reference so that a late arrival is refused; CONFIRMED if it had already been applied."""
        path = f"/v1/networks/{_seg(network_id)}/topups/{_seg(reference)}/cancel"
        return self._reference_call(network_id, "cancel", "POST", path)

    def _reference_call(self, network_id: str, operation: str, method: str, path: str) -> CarrierResult:
        """Status and cancel: CONFIRMED, CANCELLED, NOT_FOUND (status only), anything else UNKNOWN."""
        try:
            with peer_call(f"carrier:{network_id}", operation) as call:
                response = call.answer(self._client.request(method, path))
            body = _json(response)
            if response.status_code == 200 and body.get("status") == "confirmed":
                return _confirmed(body)
        except (httpx.HTTPError, _UnreadableAnswerError) as exc:
            failure = _failure(exc)
            return CarrierResult(CarrierOutcome.UNKNOWN, code=failure.code)
        if response.status_code == 200 and body.get("status") == "cancelled":
            return CarrierResult(CarrierOutcome.CANCELLED)
        if response.status_code == 404 and body.get("status") == "not_found" and "code" not in body:
            return CarrierResult(CarrierOutcome.NOT_FOUND)
        return CarrierResult(CarrierOutcome.UNKNOWN, code=_code(body, response.status_code))

    def balance(self, network_id: str, msisdn: str) -> CarrierBalance | CarrierResult:
        path = f"/v1/networks/{_seg(network_id)}/lines/{_seg(msisdn)}/balance"
        try:
            with peer_call(f"carrier:{network_id}", "balance") as call:
                response = call.answer(self._client.get(path))
            body = _json(response)
            if response.status_code == 200:
                return _balance(body)
        except (httpx.HTTPError, _UnreadableAnswerError) as exc:
            return _failure(exc)
        if response.status_code == 404 and body.get("code") == "not_on_network":
            return CarrierResult(CarrierOutcome.REJECTED, code="not_on_network")
        return _http_status_result(response, body)


def _balance(body: dict[str, Any]) -> CarrierBalance:
    msisdn, balance_minor = body.get("msisdn"), body.get("balance_minor")
    currency, valid_until = body.get("currency", "EUR"), body.get("valid_until")
    if not isinstance(msisdn, str) or not isinstance(balance_minor, int) or not isinstance(currency, str):
        raise _UnreadableAnswerError("balance answer without msisdn or balance")
    if valid_until is not None and not isinstance(valid_until, str):
        raise _UnreadableAnswerError("valid_until is not a date")
    bundles = body.get("bundles", [])
    if not isinstance(bundles, list):
        raise _UnreadableAnswerError("bundles is not a list")
    try:
        return CarrierBalance(
            msisdn=msisdn,
            balance=Money(balance_minor, currency),
            valid_until=valid_until,
            bundles=tuple(_bundle(item) for item in bundles),
        )
    except (InvalidInput, TypeError) as exc:
        raise _UnreadableAnswerError(str(exc)) from exc


def _optional_mb(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _UnreadableAnswerError(f"bundle {name} is not a number of MB")
    return value


def _bundle(item: object) -> CarrierBundle:
    """One bundle of a balance answer; anything we cannot read makes the whole answer unreadable."""
    if not isinstance(item, dict):
        raise _UnreadableAnswerError("a bundle is not an object")
    product_ref, name, expires_at = item.get("product_ref"), item.get("name"), item.get("expires_at")
    unlimited = item.get("unlimited", False)
    if not isinstance(product_ref, str) or not isinstance(name, str) or not isinstance(unlimited, bool):
        raise _UnreadableAnswerError("a bundle without product_ref, name or unlimited")
    if expires_at is not None and not isinstance(expires_at, str):
        raise _UnreadableAnswerError("a bundle's expires_at is not a date")
    return CarrierBundle(
        product_ref=product_ref,
        name=name,
        data_left_mb=_optional_mb(item, "data_left_mb"),
        data_total_mb=_optional_mb(item, "data_total_mb"),
        unlimited=unlimited,
        expires_at=expires_at,
    )
