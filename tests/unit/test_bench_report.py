"""The pure parts of `topup bench`: percentiles, the report dict and the duplicate analysis (no network)."""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from topup.bench import add_arguments, is_loopback, resolve_concurrency
from topup.bench.audit import Evidence, find_violations, payments_by_order
from topup.bench.peers import plan_price
from topup.bench.report import (
    STEPS,
    OrderResult,
    add_counts,
    answered_all_duplicates,
    batch_sizes,
    build_report,
    build_usage_report,
    format_report,
    format_usage_report,
    latest_delivery,
    partition_lines,
    percentile,
    random_usage_record,
    usage_record,
    wall_seconds,
)

FACE = 1000


def _delivered(index: int, e2e_ms: float = 100.0, start: float = 0.0, end: float = 1.0) -> OrderResult:
    return OrderResult(
        index,
        f"+3247010000{index}",
        order_id=f"ord_{index}",
        status="delivered",
        outcome="delivered",
        started_at=start,
        finished_at=end,
        create_ms=10.0,
        approve_ms=5.0,
        paid_ms=20.0,
        delivered_ms=e2e_ms - 15.0,
        end_to_end_ms=e2e_ms,
    )


def _intent(order_id: str, status: str = "succeeded", refunded: int = 0) -> dict[str, object]:
    return {
        "id": f"pi_{order_id}",
        "status": status,
        "amount_refunded": refunded,
        "metadata": {"order_id": order_id},
    }


def _clean_evidence(orders: list[OrderResult]) -> Evidence:
    delivered = [o for o in orders if o.outcome == "delivered"]
    return Evidence(
        intents=[_intent(str(o.order_id), refunded=0 if o.outcome == "delivered" else FACE) for o in orders],
        carrier_topups={
            str(o.order_id): {"status": "confirmed", "amount_minor": FACE} if o in delivered else None
            for o in orders
        },
        balances_before={o.msisdn: 500 for o in orders},
        balances_after={o.msisdn: 500 + (FACE if o in delivered else 0) for o in orders},
        face_value_minor=FACE,
    )


# ------------------------------------------------------------------ percentiles


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.0], 0) == 7.0
    assert percentile([7.0], 50) == 7.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([7.0], 100) == 7.0


def test_percentile_is_nearest_rank_on_unsorted_input() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100 reversed
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 0) == 1.0


def test_percentile_99_of_few_values_is_the_maximum() -> None:
    assert percentile([1.0, 2.0, 300.0], 99) == 300.0
    assert percentile([1.0, 2.0], 50) == 1.0


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_refuses_q_outside_0_100(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], q)


# ------------------------------------------------------------------ report


def test_report_has_the_documented_keys_and_is_json() -> None:
    report = build_report(
        [_delivered(0)], run_end=2.0, errors={"poll 503": 2}, ledger_balanced=True, violations=[]
    )
    for key in (
        "topups_per_s",
        "p50_ms",
        "p99_ms",
        "orders",
        "delivered",
        "refunded",
        "ledger_balanced",
        "duplicates",
        "steps",
        "errors",
        "wall_s",
    ):
        assert key in report
    steps = report["steps"]
    assert isinstance(steps, dict)
    assert set(steps) == set(STEPS)
    assert report["errors"] == {"poll 503": 2}
    assert json.loads(json.dumps(report)) == report


def test_report_counts_outcomes_and_rate_from_first_request_to_last_delivery() -> None:
    results = [
        _delivered(0, e2e_ms=100.0, start=10.0, end=11.0),
        _delivered(1, e2e_ms=300.0, start=10.5, end=12.0),
        OrderResult(2, "+32470100002", order_id="ord_2", outcome="refunded", started_at=10.2, finished_at=13),
        OrderResult(3, "+32470100003", order_id="ord_3", outcome="timeout", started_at=10.3),
        OrderResult(4, "+32470100004", outcome="error", started_at=10.4),
        OrderResult(5, "+32470100005"),  # never started: the deadline came first
    ]
    report = build_report(results, run_end=99.0, errors={}, ledger_balanced=None, violations=["x"])
    assert (report["orders"], report["delivered"], report["refunded"]) == (6, 2, 1)
    assert (report["timeouts"], report["not_started"], report["failed"]) == (1, 1, 1)
    assert report["duplicates"] == 1
    assert report["wall_s"] == 2.0  # 10.0 .. 12.0: the refund at 13 and run_end are not deliveries
    assert report["topups_per_s"] == 1.0
    assert report["p50_ms"] == 100.0
    assert report["p99_ms"] == 300.0
    assert report["steps"]["create"]["count"] == 2  # type: ignore[index]


def test_report_without_deliveries_has_no_rate_and_no_latency() -> None:
    results = [OrderResult(0, "+32470100000", outcome="error", started_at=1.0)]
    report = build_report(results, run_end=4.0, errors={"create 503": 1}, ledger_balanced=None, violations=[])
    assert report["topups_per_s"] == 0.0
    assert report["p50_ms"] is None
    assert report["wall_s"] == 3.0
    assert wall_seconds([], run_end=4.0) == 0.0


def test_text_report_names_every_step_and_the_checks() -> None:
    report = build_report(
        [_delivered(0)], run_end=2.0, errors={}, ledger_balanced=None, violations=["ord_0: charged 2 times"]
    )
    text = format_report(report)
    for word in (*STEPS, "ledger balanced: not checked", "duplicates: 1", "ord_0: charged 2 times"):
        assert word in text


# ------------------------------------------------------------------ duplicates


def test_a_clean_run_has_no_violation() -> None:
    orders = [_delivered(0), _delivered(1)]
    orders.append(OrderResult(2, "+32470100002", order_id="ord_2", status="refunded", outcome="refunded"))
    assert find_violations(orders, _clean_evidence(orders)) == []


def test_a_second_succeeded_intent_is_a_double_charge() -> None:
    orders = [_delivered(0)]
    evidence = _clean_evidence(orders)
    evidence = replace(evidence, intents=[*evidence.intents, _intent("ord_0")])
    assert find_violations(orders, evidence) == ["ord_0: charged 2 times"]


def test_intents_of_other_orders_and_failed_intents_do_not_count() -> None:
    tally = payments_by_order(
        [_intent("ord_0"), _intent("ord_0", status="requires_payment_method"), _intent("other"), {"id": "x"}]
    )
    assert tally["ord_0"] == (1, 0)
    assert tally["other"] == (1, 0)


def test_delivered_and_refunded_is_a_violation() -> None:
    orders = [_delivered(0)]
    evidence = _clean_evidence(orders)
    evidence = replace(evidence, intents=[_intent("ord_0", refunded=FACE)])
    assert find_violations(orders, evidence) == ["ord_0: delivered and refunded"]


def test_refunded_but_confirmed_at_the_carrier_and_credited_is_caught_twice() -> None:
    order = OrderResult(0, "+32470100000", order_id="ord_0", status="refunded", outcome="refunded")
    evidence = Evidence(
        [_intent("ord_0", refunded=FACE)],
        {"ord_0": {"status": "confirmed", "amount_minor": FACE}},
        {order.msisdn: 0},
        {order.msisdn: FACE},
        FACE,
    )
    found = find_violations([order], evidence)
    assert "ord_0: refunded but confirmed at the carrier" in found
    assert any("moved by 1000, expected 0" in v for v in found)
    assert len(found) == 2


def test_a_line_credited_twice_is_caught() -> None:
    orders = [_delivered(0)]
    evidence = _clean_evidence(orders)
    msisdn = orders[0].msisdn
    evidence = replace(evidence, balances_before={msisdn: 0}, balances_after={msisdn: 2 * FACE})
    assert find_violations(orders, evidence) == [
        f"ord_0: line {orders[0].msisdn} moved by 2000, expected 1000"
    ]


def test_delivered_without_carrier_confirmation_or_payment_is_caught() -> None:
    orders = [_delivered(0)]
    found = find_violations(orders, Evidence([], {"ord_0": None}, face_value_minor=FACE))
    assert found == [
        "ord_0: delivered without a succeeded payment",
        "ord_0: delivered but not confirmed at the carrier",
    ]


def test_orders_in_flight_are_only_checked_for_double_charges() -> None:
    order = OrderResult(0, "+32470100000", order_id="ord_0", status="delivering", outcome="timeout")
    evidence = Evidence(
        [_intent("ord_0"), _intent("ord_0")],
        {"ord_0": {"status": "confirmed", "amount_minor": FACE}},
        {order.msisdn: 0},
        {order.msisdn: FACE},
        FACE,
    )
    assert find_violations([order], evidence) == ["ord_0: charged 2 times"]


def test_missing_evidence_is_not_a_violation() -> None:
    assert find_violations([_delivered(0)], Evidence([_intent("ord_0")], face_value_minor=FACE)) == []


# ------------------------------------------------------------------ arguments and guards


def test_arguments_have_the_documented_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.orders, resolve_concurrency(args), args.timeout_s) == (200, 32, 300.0)
    assert args.plan == "proximus-credit-10"
    assert args.json is False
    assert args.allow_remote is False


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000/", True),
        ("http://[::1]:8000", True),
        ("http://10.0.0.5:8000", False),
        ("https://topup.example.com", False),
    ],
)
def test_only_loopback_urls_pass_the_guard(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_plan_price_reads_the_plans_listing() -> None:
    plans = [
        {"id": "a", "price": {"amount_minor": 500}},
        {"id": "proximus-credit-10", "price": {"amount_minor": 1000}},
    ]
    assert plan_price(plans, "proximus-credit-10") == 1000
    assert plan_price(plans, "missing") is None
    assert plan_price({"not": "a list"}, "a") is None


# ------------------------------------------------------------------ usage rating (--usage)


def test_usage_arguments_have_the_documented_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--usage"])
    assert (args.usage, args.records, args.batch, args.lines) == (True, 200_000, 5_000, 20)
    assert resolve_concurrency(args) == 4
    assert resolve_concurrency(parser.parse_args(["--usage", "--concurrency", "7"])) == 7


def test_batch_sizes_cover_every_record_once() -> None:
    assert batch_sizes(200_000, 5_000) == [5_000] * 40
    assert batch_sizes(12, 5) == [5, 5, 2]
    assert batch_sizes(3, 10) == [3]
    assert batch_sizes(0, 10) == []
    with pytest.raises(ValueError, match="batch"):
        batch_sizes(10, 0)


def test_lines_are_partitioned_disjointly_when_there_are_enough() -> None:
    lines = [f"l{i}" for i in range(10)]
    groups = partition_lines(lines, 4)
    assert [len(g) for g in groups] == [3, 3, 2, 2]
    assert sorted(line for g in groups for line in g) == sorted(lines)
    assert partition_lines(["a", "b"], 1) == [["a", "b"]]


def test_more_tasks_than_lines_share_lines_one_each() -> None:
    assert partition_lines(["a", "b"], 5) == [["a"], ["b"], ["a"], ["b"], ["a"]]
    with pytest.raises(ValueError, match="line"):
        partition_lines([], 2)


def test_a_usage_record_ends_after_its_duration_with_offsets() -> None:
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = usage_record("r1", "8932", size=10_000, start=start, duration_s=600)
    assert record == {
        "id": "r1",
        "iccid": "8932",
        "bytes": 10_000,
        "start": "2026-01-02T03:04:05+00:00",
        "end": "2026-01-02T03:14:05+00:00",
    }
    with pytest.raises(ValueError, match="offset"):
        usage_record("r1", "8932", size=1, start=datetime(2026, 1, 2), duration_s=1)  # noqa: DTZ001


def test_random_usage_records_stay_in_the_documented_ranges() -> None:
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(2_000):
        record = random_usage_record(rng, f"r{n}", ["a", "b"], base)
        start = datetime.fromisoformat(str(record["start"]))
        end = datetime.fromisoformat(str(record["end"]))
        assert record["iccid"] in {"a", "b"}
        assert isinstance(record["bytes"], int)
        assert 10_000 <= record["bytes"] <= 5_000_000
        assert 1 <= (end - start).total_seconds() <= 600
        assert base <= start <= base + timedelta(hours=1)
        assert start.utcoffset() == timedelta(0)


def test_latest_delivery_reads_the_order_histories() -> None:
    orders: list[dict[str, object]] = [
        {"history": [{"status": "paid", "at": "2026-01-01T10:00:09+00:00"},
                     {"status": "delivered", "at": "2026-01-01T10:00:05+00:00"}]},
        {"history": [{"status": "delivered", "at": "2026-01-01T10:00:07+00:00"}]},
        {"history": [{"status": "delivered", "at": "not a date"}, {"status": "delivered"}]},
        {"history": "junk"},
    ]  # fmt: skip
    assert latest_delivery(orders) == datetime(2026, 1, 1, 10, 0, 7, tzinfo=UTC)
    assert latest_delivery([]) is None


def test_a_resent_batch_must_be_answered_entirely_as_duplicates() -> None:
    def answer(accepted: int, statuses: list[str]) -> dict[str, object]:
        duplicates = statuses.count("duplicate")
        results = [{"status": s} for s in statuses]
        return {"accepted": accepted, "duplicates": duplicates, "results": results}

    assert answered_all_duplicates(answer(0, ["duplicate"] * 3), 3)
    assert not answered_all_duplicates(answer(1, ["duplicate", "duplicate", "rated"]), 3)
    assert not answered_all_duplicates(answer(0, ["duplicate"] * 2), 3)
    assert not answered_all_duplicates({"accepted": 0, "duplicates": 3}, 3)
    assert not answered_all_duplicates(answer(0, []), 0)


def test_counts_are_summed_and_junk_is_skipped() -> None:
    totals: dict[str, int] = {}
    add_counts(
        totals, {"accepted": 5, "duplicates": 1, "refused_kb": True}, ("accepted", "duplicates", "refused_kb")
    )
    add_counts(totals, {"accepted": 3, "duplicates": "x"}, ("accepted", "duplicates", "refused_kb"))
    assert totals == {"accepted": 8, "duplicates": 1}


def test_usage_report_has_the_documented_keys_and_rate() -> None:
    report = build_usage_report(
        records=10_000,
        batch=5_000,
        concurrency=2,
        lines=4,
        batch_ms=[900.0, 1_100.0],
        batches=2,
        wall_s=2.0,
        totals={"accepted": 9_000, "duplicates": 1_000},
        duplicates_ok=True,
    )
    assert json.loads(json.dumps(report)) == report
    assert {"mode", "records", "records_per_s", "batch_p50_ms", "batch_p99_ms", "accepted", "duplicates_ok",
            "lines"} <= report.keys()  # fmt: skip
    assert report["mode"] == "usage"
    assert report["records_per_s"] == 4_500.0  # accepted, not sent, over the posting wall time
    assert (report["batch_p50_ms"], report["batch_p99_ms"]) == (900.0, 1_100.0)
    assert (report["accepted"], report["duplicates"], report["refused_kb"]) == (9_000, 1_000, 0)
    text = format_usage_report(report)
    assert "4500.0 records/s" in text
    assert "all duplicates: True" in text


def test_usage_report_without_answers_has_no_rate_and_no_latency() -> None:
    report = build_usage_report(
        records=10, batch=10, concurrency=1, lines=1, batch_ms=[], batches=1, wall_s=0.0, totals={},
        duplicates_ok=False,
    )  # fmt: skip
    assert (report["records_per_s"], report["batch_p50_ms"], report["batch_p99_ms"]) == (0.0, None, None)
    assert report["accepted"] == 0
    assert "p50 - ms" in format_usage_report(report)
