"""DT One DVS: the `CarrierGateway` of the "dtone" route, over DT One's Digital Value Services API v1.

A sale is a DVS transaction whose `external_id` is our reference (the order id), created and then
confirmed (two calls, so that a transaction created but never confirmed can still be cancelled and costs
nothing). The operator's answer comes later: until the transaction is COMPLETED this adapter says UNKNOWN
("pending"), and the worker asks `status()` again. Exactly once, because DVS refuses a second transaction
with the same external_id (error 1007001) and a retry first looks the reference up:

    status class   status()                      cancel()
    (none)         NOT_FOUND                     NOT_FOUND
    CREATED        NOT_FOUND "created" (topup() resumes it: confirm, never a second create)
                                                 cancelled at DT One -> CANCELLED
    CONFIRMED, SUBMITTED  UNKNOWN "pending"      UNKNOWN "in_flight" (cannot be cancelled: wait)
    COMPLETED      CONFIRMED                     CONFIRMED (delivered: never refunded)
    DECLINED, REJECTED, CANCELLED, REVERSED      CANCELLED with the DVS status as code

Transport: nothing sent -> RETRY "unreachable"; sent without a readable answer -> UNKNOWN.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any, Final

import httpx

from topup.adapters import observed
from topup.domain.errors import InvalidInput
from topup.domain.money import Money, parse_money
from topup.metrics.peers import peer_call
from topup.ports import (
    CarrierBalance,
    CarrierBundle,
    CarrierOutcome,
    CarrierResult,
    CarrierTransaction,
    PortUnavailable,
)

POOL_SIZE: Final = 32
CATALOGUE_TTL_S: Final = 600.0
MOBILE_SERVICE_ID: Final = 1
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_FAILED_CLASSES: Final = frozenset({"DECLINED", "REJECTED", "CANCELLED", "REVERSED"})
# DVS error codes this adapter acts on (DT One's published table).
EXTERNAL_ID_USED, INSUFFICIENT_BALANCE, NOT_FOUND_CODE = 1007001, 1006001, 1008004
ALREADY_CONFIRMED, CANNOT_CONFIRM, CANNOT_CANCEL = 1007002, 1007004, 1007007
_REFUSALS: Final = {1003001: "plan_not_available", 1003002: "plan_not_available", 1005003: "invalid_msisdn"}
_RETRY_STATUSES: Final = frozenset({401, 429, 503})


class _UnreadableError(ValueError):
    """DT One answered something that is not the DVS shape we expect."""


def major_units(amount: Money) -> float:
    """DVS amounts are JSON numbers in major units. Two decimals print exactly as a float's shortest repr,
    so this is the one place a float carries money, on its way out."""
    return float(amount.as_decimal())


def _money(value: object, currency: object) -> Money:
    if isinstance(value, bool) or not isinstance(value, int | float) or not isinstance(currency, str):
        raise _UnreadableError(f"not an amount: {value!r} {currency!r}")
    try:
        return parse_money(repr(value), currency)
    except InvalidInput as exc:
        raise _UnreadableError(str(exc)) from exc


def _error_code(response: httpx.Response) -> int | None:
    try:
        errors = response.json().get("errors")
        code = errors[0].get("code")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None
    return code if isinstance(code, int) else None


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise _UnreadableError(f"not JSON (HTTP {response.status_code})") from exc


def _status(tx: object) -> tuple[str, str]:
    """(class, status message) of a DVS transaction object."""
    if not isinstance(tx, dict) or not isinstance(tx.get("status"), dict):
        raise _UnreadableError("a transaction without status")
    status = tx["status"]
    klass = status.get("class", {}).get("message") if isinstance(status.get("class"), dict) else None
    message = status.get("message")
    if not isinstance(klass, str) or not isinstance(message, str):
        raise _UnreadableError("a transaction status without class")
    return klass, message


def outcome_of(tx: object) -> CarrierResult:
    """What a DVS transaction means for our reference (the table in the module docstring)."""
    klass, message = _status(tx)
    assert isinstance(tx, dict)
    if klass == "COMPLETED":
        return CarrierResult(CarrierOutcome.CONFIRMED, carrier_ref=str(tx.get("id")))
    if klass == "CREATED":
        return CarrierResult(CarrierOutcome.NOT_FOUND, code="created", carrier_ref=str(tx.get("id")))
    if klass in _FAILED_CLASSES:
        return CarrierResult(CarrierOutcome.CANCELLED, code=message, carrier_ref=str(tx.get("id")))
    return CarrierResult(CarrierOutcome.UNKNOWN, code="pending", carrier_ref=str(tx.get("id")))


def _transport(exc: Exception) -> CarrierResult:
    if isinstance(exc, _NOT_SENT):
        return CarrierResult(CarrierOutcome.RETRY, code="unreachable")
    if isinstance(exc, _UnreadableError | httpx.HTTPStatusError):
        return CarrierResult(CarrierOutcome.UNKNOWN, code="unreadable_answer")
    return CarrierResult(CarrierOutcome.UNKNOWN, code="timeout")


class DtoneGateway:
    """`CarrierGateway` (and `CarrierLedger`) over DT One DVS; the DT One simulator speaks it too."""

    def __init__(
        self, base_url: str, api_key: str, api_secret: str, timeout_s: float, callback_url: str = ""
    ) -> None:
        self._client = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/v1",
            auth=httpx.BasicAuth(api_key, api_secret),
            headers={"Accept": "application/json"},
            timeout=httpx.Timeout(timeout_s),
            transport=observed.transport(
                "dtone", httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
            ),
        )
        self._callback_url = callback_url
        self._catalogue: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------ discovery

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        page: str | None = "1"
        while page:
            with peer_call("dtone", "list" + path.replace("/", "_")) as call:  # a constant path each time
                response = call.answer(
                    self._client.get(path, params={**params, "page": page, "per_page": "100"})
                )
            if response.status_code == 404 and _error_code(response) == NOT_FOUND_CODE:
                return
            response.raise_for_status()
            items = _body(response)
            if not isinstance(items, list):
                raise _UnreadableError(f"{path} is not a list")
            yield from (item for item in items if isinstance(item, dict))
            page = response.headers.get("X-Next-Page")

    def _products(self, network_id: str) -> list[dict[str, Any]]:
        """The operator's products, cached for a while (DVS catalogues change rarely)."""
        cached = self._catalogue.get(network_id)
        if cached is not None and time.monotonic() - cached[0] < CATALOGUE_TTL_S:
            return cached[1]
        operators = self._pages("/operators", {"country_iso_code": "BEL"})
        operator = next((o for o in operators if str(o.get("name", "")).lower().startswith(network_id)), None)
        if operator is None:
            return []
        found = list(self._pages("/products", {"operator_id": str(operator["id"])}))
        self._catalogue[network_id] = (time.monotonic(), found)
        return found

    def _credit_product(self, network_id: str, amount: Money) -> dict[str, Any] | None:
        """The airtime product for this amount: the fixed one of that value, else a ranged one around it."""
        airtime = [
            p for p in self._products(network_id)
            if all(b.get("type") != "DATA" for b in p.get("benefits") or [])
            and p.get("destination", {}).get("unit") == amount.currency
        ]  # fmt: skip
        for product in airtime:
            value = product["destination"].get("amount")
            if product.get("type") == "FIXED_VALUE_RECHARGE" and _money(value, amount.currency) == amount:
                return product
        for product in airtime:
            bounds = product["destination"].get("amount")
            if product.get("type") == "RANGED_VALUE_RECHARGE" and isinstance(bounds, dict):
                low, high = (
                    _money(bounds.get("min"), amount.currency),
                    _money(bounds.get("max"), amount.currency),
                )
                if low <= amount <= high:
                    return product
        return None

    # ------------------------------------------------------------ sales

    def topup(self, network_id: str, msisdn: str, amount: Money, reference: str) -> CarrierResult:
        try:
            product = self._credit_product(network_id, amount)
        except (httpx.HTTPError, _UnreadableError) as exc:
            return CarrierResult(CarrierOutcome.RETRY, code=f"catalogue_unavailable: {type(exc).__name__}")
        if product is None:
            return CarrierResult(CarrierOutcome.REJECTED, code="plan_not_available")
        request: dict[str, Any] = {"product_id": product["id"]}
        if product.get("type") == "RANGED_VALUE_RECHARGE":
            request["calculation_mode"] = "DESTINATION_AMOUNT"
            request["destination"] = {"unit_type": "CURRENCY", "unit": amount.currency,
                                      "amount": major_units(amount)}  # fmt: skip
        return self._sell(msisdn, reference, request)

    def activate_bundle(
        self, network_id: str, msisdn: str, product_ref: str, price: Money, reference: str
    ) -> CarrierResult:
        """The bundle is the DVS product `product_ref` (CarrierProductRecord); its price is DT One's."""
        if not product_ref.isdigit():
            return CarrierResult(CarrierOutcome.REJECTED, code="plan_not_available")
        return self._sell(msisdn, reference, {"product_id": int(product_ref)})

    def _sell(self, msisdn: str, reference: str, request: dict[str, Any]) -> CarrierResult:
        body = {**request, "external_id": reference, "auto_confirm": False,
                "credit_party_identifier": {"mobile_number": msisdn}}  # fmt: skip
        if self._callback_url:
            body["callback_url"] = self._callback_url
        try:
            with peer_call("dtone", "create_transaction") as call:
                response = call.answer(self._client.post("/async/transactions", json=body))
            if response.status_code == 201:
                return self._confirm(_body(response))
        except (httpx.HTTPError, _UnreadableError) as exc:
            return _transport(exc)
        code = _error_code(response)
        if code == EXTERNAL_ID_USED:  # an earlier attempt created it: resume that one, never a second
            return self._resume(reference, request["product_id"], msisdn)
        if code == INSUFFICIENT_BALANCE:  # our float: nothing was created, wait for it to be topped up
            return CarrierResult(CarrierOutcome.RETRY, code="insufficient_float")
        if code in _REFUSALS:
            return CarrierResult(CarrierOutcome.REJECTED, code=_REFUSALS[code])
        return self._http_failure(response)

    def _resume(self, reference: str, product_id: object, msisdn: str) -> CarrierResult:
        try:
            tx = self._find(reference)
        except (httpx.HTTPError, _UnreadableError) as exc:
            return _transport(exc)
        if tx is None:
            return CarrierResult(CarrierOutcome.UNKNOWN, code="external_id_used")
        party = tx.get("credit_party_identifier") or {}
        if tx.get("product", {}).get("id") != product_id or party.get("mobile_number") != msisdn:
            return CarrierResult(CarrierOutcome.REJECTED, code="carrier_rejected")  # not the sale we meant
        return self._confirm(tx)

    def _confirm(self, tx: dict[str, Any]) -> CarrierResult:
        """Confirm a CREATED transaction; anything else is reported as it stands."""
        known = outcome_of(tx)
        if known.code != "created":
            return known
        try:
            with peer_call("dtone", "confirm_transaction") as call:
                response = call.answer(self._client.post(f"/async/transactions/{tx['id']}/confirm"))
            if response.status_code == 202:
                return outcome_of(_body(response))
        except (httpx.HTTPError, _UnreadableError) as exc:
            return _transport(exc)
        code = _error_code(response)
        if code == ALREADY_CONFIRMED:
            return CarrierResult(CarrierOutcome.UNKNOWN, code="pending", carrier_ref=str(tx["id"]))
        if code == CANNOT_CONFIRM:  # expired while CREATED: release the hold; this reference is spent
            with contextlib.suppress(httpx.HTTPError), peer_call("dtone", "cancel_transaction"):
                self._client.post(f"/transactions/{tx['id']}/cancel")  # a hold left behind expires anyway
            return CarrierResult(CarrierOutcome.REJECTED, code="carrier_rejected")  # confirmation expired
        return self._http_failure(response)

    @staticmethod
    def _http_failure(response: httpx.Response) -> CarrierResult:
        code = f"dvs_{_error_code(response) or response.status_code}"
        if response.status_code in _RETRY_STATUSES:
            return CarrierResult(CarrierOutcome.RETRY, code=code)
        if 400 <= response.status_code < 500:
            return CarrierResult(CarrierOutcome.REJECTED, code=code)
        return CarrierResult(CarrierOutcome.UNKNOWN, code=code)

    # ------------------------------------------------------------ after the sale

    def _find(self, reference: str) -> dict[str, Any] | None:
        found = list(self._pages("/transactions", {"external_id": reference}))
        return found[0] if found else None

    def status(self, network_id: str, reference: str) -> CarrierResult:
        try:
            tx = self._find(reference)
            return CarrierResult(CarrierOutcome.NOT_FOUND) if tx is None else outcome_of(tx)
        except (httpx.HTTPError, _UnreadableError) as exc:
            return CarrierResult(CarrierOutcome.UNKNOWN, code=_transport(exc).code)

    def cancel(self, network_id: str, reference: str) -> CarrierResult:
        """Cancel while CREATED; once confirmed DVS cannot cancel, so we report what it is (or will be)."""
        try:
            tx = self._find(reference)
            if tx is None:
                return CarrierResult(CarrierOutcome.NOT_FOUND)
            known = outcome_of(tx)
            if known.code != "created":
                code = "in_flight" if known.outcome is CarrierOutcome.UNKNOWN else known.code
                return CarrierResult(known.outcome, code=code, carrier_ref=known.carrier_ref)
            with peer_call("dtone", "cancel_transaction") as call:
                response = call.answer(self._client.post(f"/transactions/{tx['id']}/cancel"))
            if response.status_code == 202:
                return outcome_of(_body(response))
            if _error_code(response) == CANNOT_CANCEL:  # confirmed meanwhile: ask again later
                return CarrierResult(CarrierOutcome.UNKNOWN, code="in_flight")
            return CarrierResult(CarrierOutcome.UNKNOWN, code=f"dvs_{_error_code(response)}")
        except (httpx.HTTPError, _UnreadableError) as exc:
            return CarrierResult(CarrierOutcome.UNKNOWN, code=_transport(exc).code)

    def balance(self, network_id: str, msisdn: str) -> CarrierBalance | CarrierResult:
        """What the line has left (DVS credit-party benefits): credit in EUR and data bundles.

        Operators that do not share it answer 1003101: REJECTED "not_supported"."""
        body = {"service_id": MOBILE_SERVICE_ID, "credit_party_identifier": {"mobile_number": msisdn}}
        try:
            with peer_call("dtone", "lookup_benefits") as call:
                response = call.answer(self._client.post("/lookup/credit-party-benefits", json=body))
            if response.status_code == 200:
                return _line_balance(msisdn, _body(response))
        except (httpx.HTTPError, _UnreadableError) as exc:
            return _transport(exc)
        if _error_code(response) in {1003101, 1000404}:
            return CarrierResult(CarrierOutcome.REJECTED, code="not_supported")
        if _error_code(response) == 1005003:
            return CarrierResult(CarrierOutcome.REJECTED, code="invalid_msisdn")
        return self._http_failure(response)

    def buy_from_balance(
        self, network_id: str, msisdn: str, plan_code: str, price: Money, reference: str
    ) -> CarrierResult:
        return CarrierResult(
            CarrierOutcome.REJECTED, code="not_supported"
        )  # DVS sells; it never debits lines

    def float_balance(self) -> Money | None:
        """The account's available balance in EUR (what is held for pending sales is not available)."""
        try:
            for balance in self._pages("/balances", {}):
                if balance.get("unit") == "EUR":
                    return _money(balance.get("available"), "EUR")
        except (httpx.HTTPError, _UnreadableError) as exc:
            raise PortUnavailable(f"DT One balances: {type(exc).__name__}") from exc
        raise PortUnavailable("DT One has no EUR balance on this account")

    def transactions(self, since: str, until: str) -> list[CarrierTransaction]:
        """Every transaction created in [since, until] (DVS allows windows of at most 24 hours)."""
        try:
            return [_sale(tx) for tx in self._pages("/transactions", {"from_date": since, "to_date": until})]
        except (httpx.HTTPError, _UnreadableError) as exc:
            raise PortUnavailable(f"DT One transactions: {type(exc).__name__}") from exc


def _sale(tx: dict[str, Any]) -> CarrierTransaction:
    klass, _message = _status(tx)
    state = {"COMPLETED": "completed", "REVERSED": "reversed"}.get(klass)
    state = state or ("failed" if klass in _FAILED_CLASSES else "pending")
    values = (tx.get("requested_values") or {}).get("destination") or {}
    party = tx.get("credit_party_identifier") or {}
    return CarrierTransaction(
        reference=str(tx.get("external_id")),
        carrier_ref=str(tx.get("id")),
        state=state,
        msisdn=str(party.get("mobile_number", "")),
        product_ref=str((tx.get("product") or {}).get("id", "")),
        amount=_money(values.get("amount"), values.get("unit")),
    )


def _line_balance(msisdn: str, benefits: object) -> CarrierBalance:
    if not isinstance(benefits, list):
        raise _UnreadableError("credit-party benefits are not a list")
    credit = Money.zero("EUR")
    bundles: list[CarrierBundle] = []
    for benefit in benefits:
        if not isinstance(benefit, dict):
            continue
        if benefit.get("type") == "CREDITS" and benefit.get("unit") == "EUR":
            credit = credit + _money(benefit.get("amount"), "EUR")
        elif benefit.get("type") == "DATA":
            amount = benefit.get("amount")
            unlimited = amount == -1
            left = None if unlimited or not isinstance(amount, int | float) else int(amount)
            # DVS names no product, no total: plan_text.carrier_bundle_name names it in the reader's language
            bundles.append(CarrierBundle(
                product_ref="", name="", data_left_mb=left, data_total_mb=None, unlimited=unlimited,
                expires_at=benefit.get("expiration_date"),
            ))  # fmt: skip
    return CarrierBalance(msisdn=msisdn, balance=credit, valid_until=None, bundles=tuple(bundles))
