"""What /metrics answers: every process's counters and histograms (the multiprocess folder, or this process
alone when there is none), then the database gauges read now by a few bounded queries.

A scrape runs, whatever the tables' sizes: the due jobs by the `job_due` index (status, run_after), at most
`JOB_SCAN` rows; the dead jobs by the same index, at most `JOB_SCAN` rows; a handful of `rate_counter` rows
by key; the carrier float rows (one per route). It never reads orders or payments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from topup.clock import now
from topup.db.models import CarrierFloatRecord, Job
from topup.metrics import processes, record, series
from topup.services import breaker

JOB_SCAN: Final = 10_000  # rows read at most per scrape for the backlog, and again for the dead jobs
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


def _gauge(name: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, series.DATABASE_GAUGES[name], labels=list(labels))


class DatabaseGauges(Collector):
    """The gauges about the database's state, read when scraped (nothing to keep in step across processes)."""

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time only: no query when the registry is built

    def collect(self) -> Iterable[Metric]:
        at = now()
        yield from _jobs(at)
        review, payouts = _gauge(series.PAYMENTS_NEEDS_REVIEW), _gauge(series.PAYOUTS_NEEDED)
        review.add_metric([], record.open_items(record.OPEN_NEEDS_REVIEW))
        payouts.add_metric([], record.open_items(record.OPEN_PAYOUTS))
        yield from (review, payouts)
        yield from _breaker(at)
        yield from _floats()


def known_kinds() -> frozenset[str]:
    """Every kind a worker runs (its handlers: constants): each has a backlog series, 0 when none is due, so
    a rule on `topup_jobs_backlog{kind="deliver"}` sees 0, not an absent series."""
    from topup.worker import HANDLERS  # noqa: PLC0415 - the worker's services, once the web's are loaded

    return frozenset(HANDLERS)


def _jobs(at: datetime) -> Iterable[Metric]:
    due = Job.objects.filter(status="queued", run_after__lte=at).order_by("run_after")
    rows = list(due.values_list("kind", "run_after")[:JOB_SCAN])
    backlog = Counter(kind for kind, _ in rows)
    oldest: dict[str, datetime] = {}
    for kind, run_after in rows:  # in run_after order: the first of a kind is its oldest
        oldest.setdefault(kind, run_after)
    dead = Counter(Job.objects.filter(status="dead").values_list("kind", flat=True)[:JOB_SCAN])
    size, age = _gauge(series.JOBS_BACKLOG, ["kind"]), _gauge(series.JOBS_OLDEST_DUE_AGE, ["kind"])
    kinds = known_kinds()
    for kind in sorted(kinds | backlog.keys()):
        size.add_metric([kind], backlog[kind])
        age.add_metric([kind], max(0.0, (at - oldest[kind]).total_seconds()) if kind in oldest else 0.0)
    capped = _gauge(series.JOBS_BACKLOG_CAPPED)
    capped.add_metric([], int(len(rows) >= JOB_SCAN))
    total, by_kind = _gauge(series.JOBS_DEAD), _gauge(series.JOBS_DEAD_BY_KIND, ["kind"])
    total.add_metric([], sum(dead.values()))
    for kind in sorted(kinds | dead.keys()):
        by_kind.add_metric([kind], dead[kind])
    return [size, age, capped, total, by_kind]


def _breaker(at: datetime) -> Iterable[Metric]:
    found = breaker.metrics(at)
    alerts = CounterMetricFamily(
        series.VOUCHER_GUESSING_ALERTS, series.DATABASE_GAUGES[series.VOUCHER_GUESSING_ALERTS]
    )
    alerts.add_metric([], found["alerts_total"])
    is_open, unknown = _gauge(series.VOUCHER_BREAKER_OPEN), _gauge(series.VOUCHER_UNKNOWN_PINS)
    is_open.add_metric([], found["open"])
    unknown.add_metric([], found["failures"])
    return [alerts, is_open, unknown]


def _floats() -> Iterable[Metric]:
    minor = _gauge(series.CARRIER_FLOAT_MINOR, ["route", "currency"])
    low = _gauge(series.CARRIER_FLOAT_LOW, ["route"])
    for reading in CarrierFloatRecord.objects.order_by("route"):
        minor.add_metric([reading.route, reading.currency], reading.available_minor)
        low.add_metric([reading.route], int(reading.available_minor < reading.alert_below_minor))
    return [minor, low]


_database = CollectorRegistry(auto_describe=False)
_database.register(DatabaseGauges())


def exposition() -> bytes:
    """The whole text a scrape answers (Prometheus text format 0.0.4)."""
    if processes.is_shared():
        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events)  # type: ignore[no-untyped-call]
    else:
        events = REGISTRY
    return generate_latest(events) + generate_latest(_database)
