"""A chaos run: start the platform, drive the scheduled orders from a pool of client threads while a fault
thread fires the scheduled faults, replay webhooks, calm everything, wait until the system is quiet (bounded)
and judge the books against the runner's model.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from topup.chaos.driver import Outcome, Peers, request, run_order
from topup.chaos.invariants import IN_FLIGHT, Books, Violation, check
from topup.chaos.platform import Platform
from topup.chaos.relay import Relay
from topup.chaos.schedule import NETWORK_PREFIX, VOUCHER_NETWORK, VOUCHER_PLAN, Fault, Schedule
from topup.settings import CONFIG

RELAY_PORT_OFFSET = 6  # TOPUP_PORT + 1..5 are the simulators (payments, carriers, SM-DP+, SMPP, phones)


@dataclass
class Run:
    schedule: Schedule
    platform: Platform
    relay: Relay
    client: httpx.Client
    log: Callable[[str], None]
    outcomes: list[Outcome] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    restarted: Counter[str] = field(default_factory=Counter)
    started_orders: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _procs_lock: threading.Lock = field(default_factory=threading.Lock)
    _progress: threading.Condition = field(default_factory=threading.Condition)
    _down: set[str] = field(default_factory=set)
    _driving: bool = True
    _stopping: threading.Event = field(default_factory=threading.Event)

    # --- faults -------------------------------------------------------------------------------------------
    def fire(self, fault: Fault) -> None:
        self.fired.append(fault.describe())
        self.faults[f"{fault.action} {fault.target}".strip() if fault.action == "kill" else fault.action] += 1
        if fault.action == "kill":
            with self._procs_lock:
                self._down.add(fault.target)
                self.platform.kill(fault.target)
            time.sleep(fault.params.get("down_s", 1.0))
            with self._procs_lock:
                self.platform.restart(fault.target)
                self._down.discard(fault.target)
        elif fault.action in {"carrier_faults", "carrier_calm"}:
            params = (
                fault.params if fault.action == "carrier_faults" else {"error_rate": 0.0, "timeout_rate": 0.0}
            )
            self._admin(f"{CONFIG.carriers_url}/v1/admin/faults", {"network": fault.target, **params})
        elif fault.action in {"smdp_faults", "smdp_calm"}:
            params = fault.params if fault.action == "smdp_faults" else {"error_rate": 0.0, "lose_next": 0}
            self._admin(
                f"{CONFIG.smdp_url}/admin/faults",
                {k: int(v) if k == "lose_next" else v for k, v in params.items()},
            )
        elif fault.action in {"deactivate", "reactivate"}:
            self.platform.staff(
                "plan", fault.target, "active" if fault.action == "reactivate" else "inactive"
            )

    def _admin(self, url: str, body: dict[str, Any]) -> None:
        key = (
            CONFIG.carrier_api_key
            if "carriers" in url or url.startswith(CONFIG.carriers_url)
            else CONFIG.smdp_api_key
        )
        request(self.client, "POST", url, json=body, headers={"Authorization": f"Bearer {key}"})

    def fault_loop(self) -> None:
        """Fire each fault once the driver has started its order; also restart what died by itself."""
        pending = list(self.schedule.faults)
        while pending or self._driving:
            with self._progress:
                self._progress.wait(0.5)
                due = [f for f in pending if f.at_order < self.started_orders]
            for fault in due:
                pending.remove(fault)
                self.fire(fault)
            if not self._driving and not due:
                pending.clear()
            self.watch()

    def watch(self) -> None:
        with self._procs_lock:
            for short in self.platform.procs:
                if short not in self._down and not self.platform.procs[short].alive():
                    self.platform.procs[short].start()
                    self.restarted[short] += 1

    # --- orders -------------------------------------------------------------------------------------------
    def drive(self, peers: Peers, concurrency: int) -> None:
        plans = iter(self.schedule.orders)
        step = max(50, len(self.schedule.orders) // 10)
        take = threading.Lock()

        def worker() -> None:
            while not self._stopping.is_set():
                with take:
                    plan = next(plans, None)
                    if plan is None:
                        return
                with self._progress:
                    self.started_orders = plan.index + 1
                    self._progress.notify_all()
                outcome = run_order(peers, plan)
                with self._lock:
                    self.outcomes.append(outcome)
                    done = len(self.outcomes)
                if done % step == 0 and done < len(self.schedule.orders):
                    self.log(f"{done} orders placed, {len(self.fired)} faults fired")

        with ThreadPoolExecutor(concurrency) as pool:
            try:
                for future in [pool.submit(worker) for _ in range(concurrency)]:
                    future.result()
            except BaseException:  # SIGTERM or Ctrl-C: the clients finish the order in hand, take no other
                self._stopping.set()
                raise

    def calm(self) -> None:
        """Carrier and SM-DP+ faults off so that the system settles; plans stay as the schedule left them."""
        self._admin(
            f"{CONFIG.carriers_url}/v1/admin/faults", {"network": "*", "error_rate": 0.0, "timeout_rate": 0.0}
        )
        self._admin(f"{CONFIG.smdp_url}/admin/faults", {"error_rate": 0.0, "lose_next": 0})

    def replay_late(self) -> None:
        for outcome in self.outcomes:
            if outcome.plan.webhook == "replay_late" and outcome.order_id:
                self.relay.replay_reversed(outcome.order_id)

    def settle(self, bound_s: float) -> dict[str, Any]:
        """Snapshots until no paid order is in flight and no delivery or refund job is queued (bounded)."""
        deadline = time.monotonic() + bound_s
        while True:
            self.watch()
            snapshot: dict[str, Any] = json.loads(self.platform.staff("snapshot"))
            busy = [o for o in snapshot["orders"] if o["status"] in IN_FLIGHT]
            queued = sum(
                n for key, n in snapshot["jobs"].items() if key in {"deliver:queued", "refund:queued"}
            )
            if (not busy and not queued) or time.monotonic() > deadline:
                return snapshot
            time.sleep(2.0)

    # --- books --------------------------------------------------------------------------------------------
    def _provider_intents(self) -> list[dict[str, Any]]:
        """Every PaymentIntent at the provider (Stripe's list API), each with `amount_refunded` read off
        its expanded charge, as the invariants compare it with our books."""
        auth = {"Authorization": f"Bearer {CONFIG.payments_api_key}"}
        intents: list[dict[str, Any]] = []
        cursor = ""
        while True:
            params = {"limit": "100", "expand[]": "data.latest_charge"}
            if cursor:
                params["starting_after"] = cursor
            page = request(
                self.client, "GET", f"{CONFIG.payments_url}/v1/payment_intents", params=params, headers=auth
            )
            body = page.json() if page is not None and page.status_code == 200 else {}
            data = body.get("data") or []
            for intent in data:
                charge = intent.get("latest_charge")
                intent["amount_refunded"] = (
                    charge.get("amount_refunded", 0) if isinstance(charge, dict) else 0
                )
            intents.extend(data)
            if not body.get("has_more") or not data:
                return intents
            cursor = data[-1]["id"]

    def books(self, snapshot: dict[str, Any]) -> Books:
        intents = self._provider_intents()
        carrier = {"Authorization": f"Bearer {CONFIG.carrier_api_key}"}
        topups: dict[str, list[dict[str, Any]]] = {}
        for network in NETWORK_PREFIX:
            topups[network] = []
            after = ""
            while True:
                url = f"{CONFIG.carriers_url}/v1/networks/{network}/topups"
                params = {"limit": "1000", **({"after": after} if after else {})}
                page = request(self.client, "GET", url, params=params, headers=carrier)
                body = page.json() if page is not None and page.status_code == 200 else {}
                topups[network].extend(body.get("topups") or [])
                after = body.get("next_after") or ""
                if not after:
                    break
        balances: dict[str, int] = {}
        lines = {
            (o["network"], o["msisdn"])
            for o in snapshot["orders"]
            if o["msisdn"] and o["network"] in NETWORK_PREFIX
        }
        for network, msisdn in sorted(lines):
            url = f"{CONFIG.carriers_url}/v1/networks/{network}/lines/{msisdn}/balance"
            answer = request(self.client, "GET", url, headers=carrier)
            if answer is not None and answer.status_code == 200:
                balances[msisdn] = int(answer.json()["balance_minor"])
        return Books(snapshot, intents, topups, balances)


def generate_vouchers(platform: Platform, count: int) -> list[tuple[str, str]]:
    out = platform.data_dir / "vouchers.csv"
    out.unlink(missing_ok=True)
    platform.cli("vouchers", "generate", "--network", VOUCHER_NETWORK, "--plan", VOUCHER_PLAN,
                 "--count", str(count), "--out", str(out), "--note", "chaos")  # fmt: skip
    with out.open(newline="", encoding="utf-8") as handle:
        return [(row["serial"], row["pin"]) for row in csv.DictReader(handle)]


@dataclass
class Result:
    run: Run
    violations: list[Violation]
    snapshot: dict[str, Any]


def execute(
    schedule: Schedule, data_dir: Path, db_url: str, concurrency: int, log: Callable[[str], None]
) -> Result:
    relay_port = CONFIG.port + RELAY_PORT_OFFSET
    relay = Relay(
        relay_port, f"{CONFIG.public_url}/api/v1/payments/webhooks/stripe", CONFIG.webhook_secrets[0]
    )
    relay_url = f"http://127.0.0.1:{relay_port}/webhooks"
    profiles = max(200, len(schedule.orders) // 2)
    platform = Platform(data_dir, db_url, schedule.seed, relay_url, esim_profiles=profiles)
    client = httpx.Client(timeout=15, limits=httpx.Limits(max_connections=4 * concurrency))
    run = Run(schedule, platform, relay, client, log)
    relay.start()
    try:
        started = time.monotonic()
        platform.start()
        peers = Peers(client, relay, platform.env["TOPUP_USSD_GATEWAY_KEYS"].split(",")[0],
                      generate_vouchers(platform, schedule.vouchers), schedule.seed)  # fmt: skip
        run.timings["start_s"] = time.monotonic() - started
        log(f"platform up in {run.timings['start_s']:.1f} s; driving {len(schedule.orders)} orders")
        faults = threading.Thread(target=run.fault_loop, name="faults", daemon=True)
        faults.start()
        driving = time.monotonic()
        try:
            run.drive(peers, concurrency)
        finally:
            run._driving = False
            faults.join()
        run.timings["drive_s"] = time.monotonic() - driving
        log(f"orders placed in {run.timings['drive_s']:.1f} s; replaying webhooks and settling")
        run.calm()
        run.replay_late()
        settling = time.monotonic()
        bound = float(platform.env["TOPUP_DELIVERY_DEADLINE_S"]) + 45
        snapshot = run.settle(bound)
        run.timings["settle_s"] = time.monotonic() - settling
        books = run.books(snapshot)
        run.timings["total_s"] = time.monotonic() - started
        return Result(run, check(run.outcomes, books), snapshot)
    finally:
        platform.stop()
        relay.close()
        client.close()


def outcomes_by_status(result: Result) -> Iterator[tuple[str, int]]:
    counts = Counter(o["status"] for o in result.snapshot["orders"])
    yield from sorted(counts.items())
