"""What a chaos run will do, decided up front by one `random.Random(seed)`: every order and every fault.

Pure: no clock, no I/O. The same seed and order count give the same plan; only when each step lands (and
so which deliveries a fault hits) depends on timing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

NETWORK_PREFIX = {"proximus": "+32470", "orange": "+32496", "base": "+32485", "telenet": "+32468"}
CREDIT_EUROS = (5, 10, 15, 20)
ESIM_PLANS = ("esim-1d-1gb", "esim-7d-5gb")
VOUCHER_NETWORK, VOUCHER_PLAN = "proximus", "proximus-credit-5"
# Numbers in a network's range that were ported away: its carrier refuses them for good, so they are refunded.
PORTED_AWAY = {
    "proximus": ("+32470000001", "+32470000002"),
    "orange": ("+32496000001", "+32496000002"),
    "base": ("+32485000001", "+32485000002"),
    "telenet": ("+32468000001", "+32468000002"),
}
KILLABLE = ("worker", "web", "carriers", "smdp", "smsc", "sms-gateway")

# (kind, weight): how an order is placed
KINDS = (
    ("api_card", 40),
    ("api_esim", 14),
    ("sms_buy", 10),
    ("voucher_api", 8),
    ("voucher_sms", 8),
    ("voucher_ussd", 8),
    ("unpaid", 12),  # created, then declined, abandoned or sent a forged webhook
)


@dataclass(frozen=True, slots=True)
class OrderPlan:
    index: int
    kind: str
    network: str
    plan_id: str
    msisdn: str = ""  # "" for a new eSIM
    payer: str = "approve"  # approve | decline | abandon
    webhook: str = "normal"  # normal | duplicate | replay_late | forge_signature | forge_amount
    cancel_esim: bool = False
    voucher: int = -1  # row of the generated batch
    reuse_voucher: int = -1  # a row redeemed by an earlier order: this one tries it again


@dataclass(frozen=True, slots=True)
class Fault:
    at_order: int  # fired when the driver starts this order
    action: str  # kill | carrier_faults | carrier_calm | smdp_faults | smdp_calm | deactivate | reactivate
    target: str = ""  # process, network or plan
    params: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        extra = " ".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        return " ".join(part for part in (f"#{self.at_order}", self.action, self.target, extra) if part)


@dataclass(frozen=True, slots=True)
class Schedule:
    seed: int
    orders: tuple[OrderPlan, ...]
    faults: tuple[Fault, ...]
    vouchers: int  # size of the batch to generate


def _msisdn(rng: random.Random, network: str, lines: int) -> str:
    return f"{NETWORK_PREFIX[network]}{300_000 + rng.randrange(lines):06d}"


def _order(rng: random.Random, index: int, lines: int, vouchers_used: list[int]) -> OrderPlan:
    kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    network = rng.choice(tuple(NETWORK_PREFIX))
    credit = f"{network}-credit-{rng.choice(CREDIT_EUROS)}"
    if kind == "api_esim":
        return OrderPlan(
            index, kind, "topup-esim", rng.choice(ESIM_PLANS),
            webhook=_webhook(rng), cancel_esim=rng.random() < 0.4,
        )  # fmt: skip
    if kind.startswith("voucher_"):
        msisdn = _msisdn(rng, VOUCHER_NETWORK, lines)
        if vouchers_used and rng.random() < 0.2:  # a PIN already used: must be refused (or be a refunded one)
            reuse = rng.choice(vouchers_used)
            return OrderPlan(index, kind, VOUCHER_NETWORK, VOUCHER_PLAN, msisdn, reuse_voucher=reuse)
        vouchers_used.append(len(vouchers_used))
        return OrderPlan(index, kind, VOUCHER_NETWORK, VOUCHER_PLAN, msisdn, voucher=vouchers_used[-1])
    msisdn = _msisdn(rng, network, lines)
    if kind == "unpaid":
        payer = rng.choice(("decline", "abandon", "abandon"))
        webhook = rng.choice(("forge_signature", "forge_amount")) if payer == "abandon" else "normal"
        return OrderPlan(index, kind, network, credit, msisdn, payer=payer, webhook=webhook)
    if kind == "sms_buy":
        return OrderPlan(index, kind, network, credit, msisdn)
    if rng.random() < 0.08:
        msisdn = rng.choice(PORTED_AWAY[network])
    return OrderPlan(index, kind, network, credit, msisdn, webhook=_webhook(rng))


def _webhook(rng: random.Random) -> str:
    draw = rng.random()
    return "duplicate" if draw < 0.15 else "replay_late" if draw < 0.3 else "normal"


def _kill(rng: random.Random, at: int, target: str) -> Fault:
    return Fault(at, "kill", target, {"down_s": round(rng.uniform(0.5, 3.0), 1)})


def _carrier(rng: random.Random, at: int, orders: int) -> list[Fault]:
    network = rng.choice(tuple(NETWORK_PREFIX))
    params = {"error_rate": rng.choice((0.3, 1.0, 1.0)), "timeout_rate": rng.choice((0.0, 0.2, 0.5))}
    calm = min(orders - 1, at + rng.randrange(5, 40))  # the longer windows outlast delivery deadlines
    return [Fault(at, "carrier_faults", network, params), Fault(calm, "carrier_calm", network)]


def _smdp(rng: random.Random, at: int, orders: int) -> list[Fault]:
    params = {"error_rate": rng.choice((0.3, 0.7)), "lose_next": float(rng.randrange(0, 3))}
    return [
        Fault(at, "smdp_faults", "", params),
        Fault(min(orders - 1, at + rng.randrange(3, 15)), "smdp_calm"),
    ]


def _plan_off(rng: random.Random, at: int, orders: int) -> list[Fault]:
    """A plan switched off for a few orders, or for good (then its orders in flight must still settle)."""
    plan = rng.choice((f"{rng.choice(tuple(NETWORK_PREFIX))}-credit-{rng.choice(CREDIT_EUROS)}", *ESIM_PLANS))
    if rng.random() < 0.5:
        return [Fault(at, "deactivate", plan)]
    back = min(orders - 1, at + rng.randrange(2, 10))
    return [Fault(at, "deactivate", plan), Fault(back, "reactivate", plan)]


def _faults(rng: random.Random, orders: int) -> list[Fault]:
    """Every process killed once and every kind of fault once, then about one more fault every 15 orders;
    none in the first 5 orders (the platform warms up first)."""

    def at() -> int:
        return rng.randrange(5, max(6, orders))

    faults = [_kill(rng, at(), target) for target in KILLABLE]
    faults += _carrier(rng, at(), orders) + _smdp(rng, at(), orders) + _plan_off(rng, at(), orders)
    for _ in range(orders // 15):
        draw = rng.random()
        if draw < 0.4:
            faults.append(_kill(rng, at(), rng.choice(KILLABLE)))
        elif draw < 0.65:
            faults += _carrier(rng, at(), orders)
        elif draw < 0.85:
            faults += _smdp(rng, at(), orders)
        else:
            faults += _plan_off(rng, at(), orders)
    faults.sort(key=lambda f: (f.at_order, f.action, f.target))
    return faults


def _cover(rng: random.Random, plans: list[OrderPlan]) -> None:
    """Even a short run forges both kinds of webhook, duplicates and replays one, and cancels an eSIM."""
    wanted: dict[str, Callable[[OrderPlan], OrderPlan]] = {
        "forge_signature": lambda p: replace(p, kind="unpaid", payer="abandon", webhook="forge_signature"),
        "forge_amount": lambda p: replace(p, kind="unpaid", payer="abandon", webhook="forge_amount"),
        "duplicate": lambda p: replace(p, webhook="duplicate"),
        "replay_late": lambda p: replace(p, webhook="replay_late"),
        "cancel_esim": lambda p: replace(p, kind="api_esim", network="topup-esim", plan_id=ESIM_PLANS[0],
                                         msisdn="", cancel_esim=True),
    }  # fmt: skip
    present = {p.webhook for p in plans} | ({"cancel_esim"} if any(p.cancel_esim for p in plans) else set())
    cards = [i for i, p in enumerate(plans) if p.kind == "api_card" and p.webhook == "normal"]
    for name, change in wanted.items():
        if name not in present and cards:
            index = cards.pop(rng.randrange(len(cards)))
            plans[index] = change(plans[index])


def build(seed: int, orders: int) -> Schedule:
    rng = random.Random(seed)  # noqa: S311 - replayable decisions, not secrets
    lines = max(3, orders // 6)  # several top-ups land on the same line
    used: list[int] = []
    plans = [_order(rng, i, lines, used) for i in range(orders)]
    _cover(rng, plans)
    return Schedule(seed, tuple(plans), tuple(_faults(rng, orders)), vouchers=max(1, len(used)))
