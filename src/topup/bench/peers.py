"""What `topup bench` asks after the run: the platform's trial balance, the payment simulator's intents,
the carrier simulator's top-ups and line balances. Failures are counted in `errors`, never raised.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections import Counter
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp

from topup.bench.report import OrderResult

Json = dict[str, object]
T = TypeVar("T")
PAGE_LIMIT = 100
MAX_PAGES = 10_000  # a million intents: far more than any bench, a bound on a misbehaving cursor


@dataclass(frozen=True, slots=True)
class Reply:
    """A fully read response (aiohttp's own is only valid inside its `async with`)."""

    status_code: int
    body: bytes = b""

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    def json(self) -> object:
        """The decoded body; ValueError (as json.loads raises) when it is not JSON."""
        return jsonlib.loads(self.body)


def session(concurrency: int, timeout_s: float) -> aiohttp.ClientSession:
    """The one shared client: each task has one request in flight, to the platform or to the payment
    simulator, so 2 keep-alive pools of C connections; no cookies (the bench is stateless)."""
    connector = aiohttp.TCPConnector(limit=2 * concurrency, limit_per_host=0, keepalive_timeout=60)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


class Peer:
    """One shared client plus the error tally every request reports to."""

    def __init__(self, client: aiohttp.ClientSession, errors: Counter[str]) -> None:
        self.client = client
        self.errors = errors

    async def send(
        self,
        step: str,
        method: str,
        url: str,
        *,
        json: object = None,
        data: Mapping[str, str] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        expected: frozenset[int] = frozenset(),
    ) -> Reply | None:
        """The response (error statuses not `expected` counted under `step`), None after a transport error."""
        try:
            async with self.client.request(
                method, url, json=json, data=data, headers=headers, params=params
            ) as raw:
                response = Reply(raw.status, await raw.read())
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.errors[f"{step} {type(exc).__name__}"] += 1
            return None
        if response.is_error and response.status_code not in expected:
            self.errors[f"{step} {response.status_code}"] += 1
        return response

    async def get_json(self, step: str, url: str, token: str, **params: str) -> Json | None:
        headers = {"Authorization": f"Bearer {token}"}
        response = await self.send(step, "GET", url, headers=headers, params=params)
        if response is None or response.status_code != 200:
            return None
        return json_object(response)


def json_object(response: Reply) -> Json:
    """The response's JSON object, or {} when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def gather_limited(jobs: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await the jobs with at most `limit` of them running at once."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


async def trial_balance(peer: Peer, url: str, admin_key: str) -> bool | None:
    body = await peer.get_json("trial_balance", f"{url}/api/v1/admin/ledger/trial-balance", admin_key)
    balanced = body.get("balanced") if body else None
    return balanced if isinstance(balanced, bool) else None


async def list_intents(peer: Peer, payments_url: str, key: str) -> list[Json] | None:
    """Every intent of the simulator, page by page (`starting_after`); None if listing is not served."""
    intents: list[Json] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params = {"limit": str(PAGE_LIMIT)} | ({"starting_after": cursor} if cursor else {})
        page = await peer.get_json("intents_list", f"{payments_url}/v1/payment_intents", key, **params)
        data = page.get("data") if page else None
        if page is None or not isinstance(data, list):
            return None
        intents.extend(item for item in data if isinstance(item, dict))
        last = data[-1].get("id") if data and isinstance(data[-1], dict) else None
        if not page.get("has_more") or not isinstance(last, str) or last == cursor:
            break
        cursor = last
    return intents


async def intents_one_by_one(
    peer: Peer, payments_url: str, key: str, orders: Sequence[OrderResult], limit: int
) -> list[Json]:
    """Fallback: each order's own intent, its id read off the checkout URL (`.../checkout/{id}`)."""
    ids = [urlsplit(o.checkout_url).path.rsplit("/", 1)[-1] for o in orders if o.checkout_url]
    jobs = (peer.get_json("intent_get", f"{payments_url}/v1/payment_intents/{i}", key) for i in ids)
    return [intent for intent in await gather_limited(jobs, limit) if intent is not None]


async def carrier_topups(
    peer: Peer, carriers_url: str, key: str, order_ids: Sequence[str], limit: int
) -> dict[str, Json | None]:
    """Order id -> the carrier's record of that reference (None: never heard of); failed lookups left out."""

    async def one(order_id: str) -> tuple[str, Json | None, bool]:
        url = f"{carriers_url}/v1/networks/proximus/topups/{order_id}"
        headers = {"Authorization": f"Bearer {key}"}
        response = await peer.send("carrier_topup", "GET", url, headers=headers, expected=frozenset({404}))
        if response is None or response.status_code not in {200, 404}:
            return order_id, None, False
        return order_id, json_object(response) if response.status_code == 200 else None, True

    found = await gather_limited((one(o) for o in order_ids), limit)
    return {order_id: body for order_id, body, known in found if known}


async def line_balances(
    peer: Peer, carriers_url: str, key: str, msisdns: Sequence[str], limit: int
) -> dict[str, int]:
    """Msisdn -> balance_minor at the carrier; failed lookups left out."""

    async def one(msisdn: str) -> tuple[str, object]:
        url = f"{carriers_url}/v1/networks/proximus/lines/{msisdn}/balance"
        body = await peer.get_json("carrier_balance", url, key)
        return msisdn, body.get("balance_minor") if body else None

    found = await gather_limited((one(m) for m in msisdns), limit)
    return {m: b for m, b in found if isinstance(b, int)}


def plan_price(plans: object, plan_id: str) -> int | None:
    """The price (= carrier face value) of `plan_id` in minor units, from the `GET /plans` answer."""
    if not isinstance(plans, list):
        return None
    for plan in plans:
        if isinstance(plan, Mapping) and plan.get("id") == plan_id:
            price = plan.get("price")
            amount = price.get("amount_minor") if isinstance(price, Mapping) else None
            return amount if isinstance(amount, int) else None
    return None
