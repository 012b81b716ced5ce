"""Every Prometheus series of Topup, with its help and labels: the one place to look for a metric.

Counters and histograms are kept as events happen, in the process where they happen (web, worker, SMS
gateway), in prometheus-client's multiprocess files when PROMETHEUS_MULTIPROC_DIR is set (`processes`).
Gauges about the database (job backlog, dead jobs, voucher breaker, carrier floats, payments that need a
person) are read at scrape time by cheap bounded queries (`scrape.DatabaseGauges`); their names are here too.
Labels only take values from bounded sets (route patterns, statuses, channels, networks, peers, kinds).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

# Seconds, from a fast cached page to a slow carrier: Prometheus' defaults plus 30 s and 60 s.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Minutes matter here: a delivery waits on the worker, retries and the carrier.
DELIVERY_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

HTTP_REQUEST_SECONDS: Final = Histogram(
    "topup_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern (never the path), method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
ORDERS: Final = Counter(
    "topup_orders_total",
    "Orders entering a state (placed, paid, delivering, delivered, delivery_failed, refunded, expired, "
    "cancelled), by channel, network and payment method.",
    ["channel", "network", "method", "outcome"],
)
PAID_TO_DELIVERED_SECONDS: Final = Histogram(
    "topup_order_paid_to_delivered_seconds",
    "Time from an order's payment to its delivery, observed when it is delivered.",
    ["channel", "network"],
    buckets=DELIVERY_BUCKETS,
)
PEER_CALL_SECONDS: Final = Histogram(
    "topup_peer_call_duration_seconds",
    "Time of a call to a peer (carrier gateway per network, dtone, smdp, smsc, stripe, smtp, ecb, cash), "
    "by peer and operation, failed calls included.",
    ["peer", "operation"],
    buckets=LATENCY_BUCKETS,
)
PEER_CALL_ERRORS: Final = Counter(
    "topup_peer_call_errors_total",
    "Calls to a peer that failed: `error` is the exception's class, or the code the adapter named.",
    ["peer", "operation", "error"],
)
WEBHOOK_LAG_SECONDS: Final = Histogram(
    "topup_webhook_lag_seconds",
    "Time from the provider's event creation to its application here (signed webhooks, queued ones too).",
    ["provider"],
    buckets=DELIVERY_BUCKETS,
)
VOUCHER_PIN_FAILURES: Final = Counter(
    "topup_voucher_pin_failures_total",
    "Voucher redemptions refused for a PIN that is unknown, used or void (the guessing alarm), by channel.",
    ["channel", "code"],
)
OTP_FAILURES: Final = Counter(
    "topup_otp_failures_total",
    "One-time codes refused (wrong, expired, locked, too many checks): the guessing alarm of sign-ins.",
    ["code"],
)
LEDGER_IMBALANCE_MINOR: Final = Gauge(
    "topup_ledger_imbalance_minor",
    "Sum of debits minus sum of credits over every ledger account, per currency, after the last roll-up "
    "(must be 0).",
    ["currency"],
    multiprocess_mode="mostrecent",
)
LEDGER_CHECKED_SECONDS: Final = Gauge(
    "topup_ledger_checked_timestamp_seconds",
    "When the ledger balance gauge was last computed (Unix time).",
    multiprocess_mode="mostrecent",
)

# Read at scrape time (scrape.DatabaseGauges): name -> help. Labels are written where they are yielded.
JOBS_BACKLOG: Final = "topup_jobs_backlog"
JOBS_OLDEST_DUE_AGE: Final = "topup_jobs_oldest_due_age_seconds"
JOBS_BACKLOG_CAPPED: Final = "topup_jobs_backlog_capped"
JOBS_DEAD: Final = "topup_jobs_dead"
JOBS_DEAD_BY_KIND: Final = "topup_jobs_dead_by_kind"
PAYMENTS_NEEDS_REVIEW: Final = "topup_payments_needs_review"
PAYOUTS_NEEDED: Final = "topup_payouts_needed"
VOUCHER_GUESSING_ALERTS: Final = "topup_voucher_guessing_alerts"  # a counter: exposed with _total
VOUCHER_BREAKER_OPEN: Final = "topup_voucher_breaker_open"
VOUCHER_UNKNOWN_PINS: Final = "topup_voucher_unknown_pins"
CARRIER_FLOAT_MINOR: Final = "topup_carrier_float_minor"
CARRIER_FLOAT_LOW: Final = "topup_carrier_float_low"

DATABASE_GAUGES: Final = {
    JOBS_BACKLOG: "Queued jobs due now (those a worker holds too), by kind, up to the scan limit (_capped).",
    JOBS_OLDEST_DUE_AGE: "Age of the oldest job due now, by kind, in seconds.",
    JOBS_BACKLOG_CAPPED: "1 when the due jobs reached the scan limit: the backlog is at least that.",
    JOBS_DEAD: "Jobs that used every attempt (topup jobs requeue).",
    JOBS_DEAD_BY_KIND: "Dead jobs by kind.",
    PAYMENTS_NEEDS_REVIEW: "Payments whose webhook did not match the amount or currency.",
    PAYOUTS_NEEDED: "Refunds the provider could not make: to pay back by hand.",
    VOUCHER_GUESSING_ALERTS: "Times the voucher guessing breaker opened.",
    VOUCHER_BREAKER_OPEN: "1 while voucher redemptions are slowed for everyone.",
    VOUCHER_UNKNOWN_PINS: "Unknown voucher PINs in the breaker's window.",
    CARRIER_FLOAT_MINOR: "Last reading of a carrier route's prepaid float, in minor units.",
    CARRIER_FLOAT_LOW: "1 while a route's float is below its alert threshold.",
}
