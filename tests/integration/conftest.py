"""Real peers for integration tests: the payment and carrier simulators as processes on loopback,
the platform as Django's live server, and a helper that runs the worker until the jobs are done."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fx import ecb_daily
from tests.support.processes import ROOT, free_port, running
from tests.support.wired import point
from topup.adapters.payments.stripe import WEBHOOK_EVENTS
from topup.clock import now
from topup.settings import CONFIG

LOGS = ROOT / "artifacts" / "logs"
TEST_CNY_RATE = "7.6880"  # yuan per euro in the `seeded` database: €10.00 is ¥78.42 with the 2 % markup


def _log(name: str) -> Path:
    LOGS.mkdir(parents=True, exist_ok=True)
    return LOGS / f"{name}.log"


@pytest.fixture(scope="session")
def payments_simulator(live_server: Any) -> Iterator[str]:
    """The payment simulator on a free port, sending its webhooks to the live server."""
    port = free_port()
    webhook_url = f"{live_server.url}/api/v1/payments/webhooks/stripe"
    args = ["-m", "topup.simulators.payments", "--port", str(port), "--api-key", CONFIG.payments_api_key]
    args += ["--webhook-secret", CONFIG.webhook_secrets[0], "--webhook-url", webhook_url, "--seed", "7"]
    args += ["--webhook-events", ",".join(WEBHOOK_EVENTS)]  # subscribed as `topup serve` does
    url = f"http://127.0.0.1:{port}"
    with running(args, f"{url}/healthz", log_path=_log("payments-sim")):
        point(payments=url)
        yield url


@pytest.fixture(scope="session")
def carriers_simulator() -> Iterator[str]:
    """The carrier simulator on a free port; timeouts sleep 3 s so that tests stay short."""
    port = free_port()
    args = ["-m", "topup.simulators.carriers", "--port", str(port), "--api-key", CONFIG.carrier_api_key]
    args += ["--seed", "7", "--timeout-sleep-s", "3"]
    url = f"http://127.0.0.1:{port}"
    with running(args, f"{url}/healthz", log_path=_log("carriers-sim")):
        point(carriers=url)
        yield url


@pytest.fixture(scope="session")
def smdp_simulator(live_server: Any) -> Iterator[str]:
    """The SM-DP+ simulator on a free port, sending download progress to the live server."""
    port = free_port()
    callback = f"{live_server.url}/gsma/rsp2/es2plus/handleDownloadProgressInfo"
    args = ["-m", "topup.simulators.smdp", "--port", str(port), "--api-key", CONFIG.smdp_api_key]
    args += ["--callback-url", callback, "--callback-key", CONFIG.smdp_callback_key, "--seed", "5"]
    args += ["--step-delay-ms", "10", "--pool", "BE-DATA:50"]
    url = f"http://127.0.0.1:{port}"
    with running(args, f"{url}/healthz", log_path=_log("smdp-sim")):
        point(smdp=url)
        yield url


class Carriers:
    """The carrier simulator's inspection and fault API, as a test sees it."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {CONFIG.carrier_api_key}"}
        )

    def faults(self, network: str = "*", **settings: float) -> None:
        self.http.post("/v1/admin/faults", json={"network": network, **settings}).raise_for_status()

    def balance_minor(self, network: str, msisdn: str) -> int:
        response = self.http.get(f"/v1/networks/{network}/lines/{msisdn}/balance")
        return int(response.json()["balance_minor"]) if response.status_code == 200 else 0


@pytest.fixture
def carriers(carriers_simulator: str) -> Iterator[Carriers]:
    client = Carriers(carriers_simulator)
    client.faults("*", latency_ms=0, error_rate=0.0, timeout_rate=0.0)
    yield client
    client.faults("*", latency_ms=0, error_rate=0.0, timeout_rate=0.0)


def run_jobs_until_idle(timeout_s: float = 30.0) -> None:
    """Run the worker's claim/run cycle in this process until no job is due or leased."""
    from topup.db.models import Job  # noqa: PLC0415
    from topup.worker import claim, run_one  # noqa: PLC0415

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = claim(50, lease_s=30)
        for job in jobs:
            run_one(*job)
        if not jobs:
            if not Job.objects.filter(status="queued").exists():
                return
            time.sleep(0.05)
    stuck = list(
        Job.objects.filter(status="queued").values_list("kind", "subject_id", "attempts", "last_error")
    )
    raise TimeoutError(f"jobs still queued: {stuck}")


@pytest.fixture
def seeded(transactional_db: None) -> None:
    """The demo catalogue, and a yuan rate published today (Alipay and WeChat Pay quotes need one)."""
    from topup.adapters.fx import ecb  # noqa: PLC0415
    from topup.services import fx  # noqa: PLC0415
    from topup.services.seed import seed_demo  # noqa: PLC0415

    seed_demo()
    fx.store_rates(ecb.parse(ecb_daily(now().date(), cny=TEST_CNY_RATE)))


@pytest.fixture(autouse=True)
def _no_senders_left_behind() -> Iterator[None]:
    """A test that binds SMS or e-mail senders must not leave them to the next test (its peers are gone)."""
    from topup.services import notifications  # noqa: PLC0415

    notifications.configure()
    yield
    notifications.configure()


class Dtone:
    """The DT One simulator's inspection API (and the adapter the platform uses), as a test sees it."""

    def __init__(self, base_url: str) -> None:
        from topup.adapters.carriers.dtone import DtoneGateway  # noqa: PLC0415

        self.url = base_url
        self.http = httpx.Client(base_url=base_url, auth=(CONFIG.dtone_api_key, CONFIG.dtone_api_secret))
        self.gateway = DtoneGateway(base_url, CONFIG.dtone_api_key, CONFIG.dtone_api_secret, timeout_s=1.0)

    def faults(self, **settings: float) -> None:
        self.http.post("/sim/faults", json=settings).raise_for_status()

    def line(self, msisdn: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"/sim/lines/{msisdn}").json()
        return body

    def transaction(self, external_id: str) -> dict[str, Any]:
        found = self.http.get("/v1/transactions", params={"external_id": external_id})
        found.raise_for_status()
        body: dict[str, Any] = found.json()[0]
        return body


@pytest.fixture
def dtone_simulator() -> Iterator[str]:
    """A fresh DT One DVS simulator (its own account: no sale of another test) with quick operators: 50 ms,
    and the sandbox's 3 s / 20 s delays shortened tenfold; its timed-out calls answer after 2 s."""
    port = free_port()
    args = ["-m", "topup.simulators.dtone", "--port", str(port), "--api-key", CONFIG.dtone_api_key]
    args += ["--api-secret", CONFIG.dtone_api_secret, "--seed", "11", "--processing-ms", "50"]
    args += ["--sandbox-delay-scale", "0.1", "--timeout-sleep-s", "2"]
    url = f"http://127.0.0.1:{port}"
    with running(args, f"{url}/healthz", log_path=_log("dtone-sim")):
        yield url


@pytest.fixture
def dtone(dtone_simulator: str) -> Iterator[Dtone]:
    """Orange Belgium routed to DT One (its simulator), with a 1 s client timeout; other networks keep the
    direct gateway. The test's peers are put back afterwards."""
    from dataclasses import replace  # noqa: PLC0415

    from tests.support import wired  # noqa: PLC0415
    from topup import wiring  # noqa: PLC0415

    config = replace(CONFIG, carrier_routes={"*": "gateway", "orange": "dtone"}, dtone_timeout_s=1.0)
    wiring.start(config=config, messaging=False, **{**wired._addresses, "dtone": dtone_simulator})
    client = Dtone(dtone_simulator)
    yield client
    client.gateway.close()
    wired.point()
