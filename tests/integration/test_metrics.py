"""/metrics: every series is there with its labels after a paid and delivered order against the simulators,
the histograms move, a scrape reads no order or payment (its statements are listed), the job gauges are
right, and counters kept in other processes (gunicorn's workers, the job worker) are in the scrape."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_job_leases import run_due_now
from tests.integration.test_paid_orders_end import paid

pytestmark = pytest.mark.django_db(transaction=True)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Every family a scrape shows (help and type even before a first sample), and its labels.
SERIES = {
    "topup_http_request_duration_seconds": {"route", "method", "status"},
    "topup_orders": {"channel", "network", "method", "outcome"},
    "topup_order_paid_to_delivered_seconds": {"channel", "network"},
    "topup_peer_call_duration_seconds": {"peer", "operation"},
    "topup_peer_call_errors": {"peer", "operation", "error"},
    "topup_webhook_lag_seconds": {"provider"},
    "topup_voucher_pin_failures": {"channel", "code"},
    "topup_otp_failures": {"code"},
    "topup_ledger_imbalance_minor": {"currency"},
    "topup_ledger_checked_timestamp_seconds": set(),
    "topup_jobs_backlog": {"kind"},
    "topup_jobs_oldest_due_age_seconds": {"kind"},
    "topup_jobs_backlog_capped": set(),
    "topup_jobs_dead": set(),
    "topup_jobs_dead_by_kind": {"kind"},
    "topup_payments_needs_review": set(),
    "topup_payouts_needed": set(),
    "topup_voucher_guessing_alerts": set(),
    "topup_voucher_breaker_open": set(),
    "topup_voucher_unknown_pins": set(),
    "topup_carrier_float_minor": {"route", "currency"},
    "topup_carrier_float_low": {"route"},
}


def scrape(text: str) -> tuple[dict[str, str], Samples]:
    """(family name -> type, (sample name, labels) -> value) of a scrape's text."""
    types, samples = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def labels_of(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample, labels in samples if sample == name]


@pytest.mark.usefixtures("seeded", "payments_simulator")
def test_every_series_moves_with_a_paid_and_delivered_order(live_server: Any, carriers: Carriers) -> None:
    from topup.metrics import books  # noqa: PLC0415

    client = httpx.Client(base_url=live_server.url, timeout=15)
    _, before = scrape(client.get("/metrics").text)
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"}
    order_id = paid(client, "/api/v1/orders", "metrics-1", **body)
    run_jobs_until_idle()
    assert client.get(f"/api/v1/orders/{order_id}").status_code in {200, 401, 404}  # a route with an id
    books.publish(force=True)
    types, after = scrape(client.get("/metrics").text)

    for name, labels in SERIES.items():
        assert name in types, name
        for found in (
            labels_of(after, name) + labels_of(after, f"{name}_total") + labels_of(after, f"{name}_count")
        ):
            assert set(found) == labels, (name, found)
    assert types["topup_orders"] == "counter"
    assert types["topup_http_request_duration_seconds"] == "histogram"

    order = {"channel": "api", "network": "proximus", "method": "card"}
    for outcome in ("placed", "paid", "delivering", "delivered"):
        assert moved(before, after, "topup_orders_total", **order, outcome=outcome) == 1, outcome
    where = {"channel": "api", "network": "proximus"}
    assert moved(before, after, "topup_order_paid_to_delivered_seconds_count", **where) == 1
    assert moved(before, after, "topup_order_paid_to_delivered_seconds_bucket", **where, le="+Inf") == 1

    placed = {"route": "/api/v1/orders", "method": "POST", "status": "201"}
    assert moved(before, after, "topup_http_request_duration_seconds_count", **placed) == 1
    assert moved(before, after, "topup_http_request_duration_seconds_bucket", **placed, le="60.0") == 1
    routes = {labels["route"] for labels in labels_of(after, "topup_http_request_duration_seconds_count")}
    assert not [route for route in routes if re.search(r"ord_|pay_|\d{2,}", route)], routes  # patterns only
    assert "/api/v1/orders/<order_id>" in routes or "/api/v1/orders/<str:order_id>" in routes, routes

    carrier = {"peer": "carrier:proximus", "operation": "topup"}
    assert moved(before, after, "topup_peer_call_duration_seconds_count", **carrier) == 1
    stripe = [labels for labels in labels_of(after, "topup_peer_call_duration_seconds_count")
              if labels["peer"] == "stripe"]  # fmt: skip
    assert stripe, "no call to the payment provider was timed"
    assert moved(before, after, "topup_webhook_lag_seconds_count", provider="stripe") >= 1
    assert value(after, "topup_ledger_imbalance_minor", currency="EUR") == 0
    assert value(after, "topup_ledger_checked_timestamp_seconds") > 0
    assert value(after, "topup_jobs_dead") == 0


@pytest.mark.usefixtures("seeded", "payments_simulator")
def test_a_failing_carrier_call_is_an_error_of_that_peer(live_server: Any, carriers: Carriers) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=15)
    _, before = scrape(client.get("/metrics").text)
    paid(client, "/api/v1/orders", "metrics-2", plan_id="proximus-credit-10", msisdn="0470 12 34 57",
         payment_method="card")  # fmt: skip
    carriers.faults("proximus", error_rate=1.0)  # "try again": a 5xx from the carrier
    assert run_due_now() == 1  # one delivery attempt, answered with an error
    _, after = scrape(client.get("/metrics").text)
    errors = [labels for labels in labels_of(after, "topup_peer_call_errors_total")
              if labels["peer"] == "carrier:proximus" and labels["operation"] == "topup"]  # fmt: skip
    assert errors, labels_of(after, "topup_peer_call_errors_total")
    print("errors of the carrier's calls:", errors)
    assert sum(moved(before, after, "topup_peer_call_errors_total", **labels) for labels in errors) >= 1


def test_a_scrape_reads_no_order_or_payment_and_counts_nothing(seeded: None) -> None:
    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import Job  # noqa: PLC0415

    at = now()
    for i, (kind, status, ago_s) in enumerate([("deliver", "queued", 90), ("deliver", "queued", 30),
                                               ("refund", "queued", 5), ("refund", "queued", -600),
                                               ("deliver", "dead", 0), ("deliver", "done", 0)]):  # fmt: skip
        Job.objects.create(id=f"job_m{i}", kind=kind, subject_id=f"ord_m{i}", status=status,
                           run_after=at - timedelta(seconds=ago_s), created_at=at)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        answer = Client().get("/metrics")
    assert answer.status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    print("\n".join(["statements of one scrape:", *statements]))
    assert len(statements) <= 12
    for sql in statements:
        lowered = sql.lower()
        assert '"order"' not in lowered, sql
        assert '"payment"' not in lowered, sql
        assert "order_event" not in lowered, sql
        assert "count(" not in lowered, sql
        if '"job"' in lowered:
            assert "limit" in lowered, sql  # bounded by the job_due index, never the whole table
    _, samples = scrape(answer.content.decode())
    assert value(samples, "topup_jobs_backlog", kind="deliver") == 2
    assert value(samples, "topup_jobs_backlog", kind="refund") == 1  # the one due in ten minutes waits
    assert value(samples, "topup_jobs_oldest_due_age_seconds", kind="deliver") >= 90
    assert value(samples, "topup_jobs_oldest_due_age_seconds", kind="refund") < 90
    assert value(samples, "topup_jobs_dead_by_kind", kind="deliver") == 1
    assert value(samples, "topup_jobs_dead") == 1
    assert value(samples, "topup_jobs_backlog_capped") == 0
    # Every kind a worker runs has its series, 0 when none is due or dead (present, not absent).
    for kind in ("notify", "apply_webhook", "partner_hook", "auto_topup_run"):
        for name in ("topup_jobs_backlog", "topup_jobs_oldest_due_age_seconds", "topup_jobs_dead_by_kind"):
            assert (name, frozenset({("kind", kind)})) in samples, (name, kind)
            assert value(samples, name, kind=kind) == 0
    assert value(samples, "topup_jobs_dead_by_kind", kind="refund") == 0


def test_counters_of_other_processes_are_in_the_scrape(
    seeded: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes (as two gunicorn workers, or the web and the job worker) count in the shared folder;
    the scrape sums them, and a process that ended keeps its counts."""
    from topup.metrics import processes  # noqa: PLC0415

    child = (
        "from topup.metrics import series\n"
        "series.ORDERS.labels('api', 'proximus', 'card', 'delivered').inc()\n"
        "series.PEER_CALL_SECONDS.labels('dtone', 'create_transaction').observe(0.2)\n"
    )
    env = {**os.environ, processes.ENV: str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", child], env=env, check=True, timeout=60)
    files = [p.name.split("_")[0] for p in tmp_path.glob("*.db")]
    assert (files.count("counter"), files.count("histogram")) == (2, 2)  # a file of each kind per process
    monkeypatch.setenv(processes.ENV, str(tmp_path))
    monkeypatch.setattr(processes, "is_shared", lambda: True)  # as a web process started by `topup serve`
    _, samples = scrape(Client().get("/metrics").content.decode())
    delivered = {"channel": "api", "network": "proximus", "method": "card", "outcome": "delivered"}
    assert value(samples, "topup_orders_total", **delivered) == 2
    dtone = {"peer": "dtone", "operation": "create_transaction"}
    assert value(samples, "topup_peer_call_duration_seconds_count", **dtone) == 2
    assert value(samples, "topup_peer_call_duration_seconds_bucket", **dtone, le="0.25") == 2
    assert value(samples, "topup_jobs_dead") == 0  # the database gauges come with them


def test_the_folder_is_emptied_at_start_and_joined_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup.metrics import processes  # noqa: PLC0415

    (tmp_path / "counter_123.db").write_bytes(b"old")
    # Recorded as set, then removed: at teardown the variable `prepare` sets is removed again. (A bare
    # delenv of an unset variable records nothing, and the folder with its made-up file stayed this test
    # process's multiprocess folder: every later subprocess's scrape read that file and failed.)
    monkeypatch.setenv(processes.ENV, "")
    monkeypatch.delenv(processes.ENV)
    processes.prepare(tmp_path, fresh=True)
    assert os.environ[processes.ENV] == str(tmp_path)
    assert list(tmp_path.glob("*.db")) == []
    (tmp_path / "counter_456.db").write_bytes(b"a worker's")
    processes.prepare(tmp_path, fresh=False)  # `topup web` under `topup serve`: serve emptied it already
    assert [p.name for p in tmp_path.glob("*.db")] == ["counter_456.db"]


def test_guessing_is_counted_as_it_happens(seeded: None) -> None:
    """A wrong voucher PIN and a wrong one-time code each count once, with the channel and the refusal."""
    from prometheus_client import REGISTRY  # noqa: PLC0415

    from tests.integration.test_vouchers import wrong_pins  # noqa: PLC0415
    from topup.domain.errors import DomainError  # noqa: PLC0415
    from topup.services import otp, vouchers  # noqa: PLC0415

    def seen(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    pin = {"channel": "sms", "code": "voucher_unknown"}
    before = seen("topup_voucher_pin_failures_total", **pin)
    with pytest.raises(DomainError):
        vouchers.redeem(next(wrong_pins("proximus", seed=5)), msisdn="0470 11 22 33", channel="sms",
                        caller_keys=["ip:192.0.2.9"])  # fmt: skip
    assert seen("topup_voucher_pin_failures_total", **pin) == before + 1

    code = {"code": "otp_invalid"}
    before = seen("topup_otp_failures_total", **code)
    with pytest.raises(DomainError):
        otp.verify("0470 11 22 34", "123456", "192.0.2.9")  # no code was sent: refused
    assert seen("topup_otp_failures_total", **code) == before + 1
