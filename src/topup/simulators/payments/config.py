"""Command-line flags of the payment simulator; each flag may also come from a `TOPUP_PAYSIM_*` variable.

Defaults follow the platform's settings (`CONFIG`), so that `topup simulate payments` with no flag
talks to a platform started with the same environment. Precedence: flag, then variable, then default.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from topup.settings import CONFIG
from topup.simulators.payments.faults import Faults

ENV_PREFIX = "TOPUP_PAYSIM_"


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    host: str
    port: int
    api_key: str
    webhook_url: str  # empty: events are recorded but not sent
    webhook_secret: str
    webhook_events: tuple[str, ...]  # the types sent to `webhook_url` (`*`: all): Stripe's enabled_events
    public_url: str  # base of the hosted pages' URLs
    faults: Faults
    seed: int | None
    state_file: Path | None = None  # SQLite file keeping the account across restarts; None: in memory

    def __repr__(self) -> str:  # keeps the API key and the webhook secret out of logs and tracebacks
        return (
            f"SimulatorSettings(host={self.host!r}, port={self.port}, public_url={self.public_url!r}, "
            f"webhook_url={self.webhook_url!r}, webhook_events={self.webhook_events!r}, "
            f"faults={self.faults!r}, seed={self.seed}, state_file={self.state_file})"
        )


def _env(name: str, default: str | None) -> str | None:
    return os.environ.get(ENV_PREFIX + name.upper().replace("-", "_"), default)


FAULT_FLAGS = (
    ("latency-ms", "int", "added to every API call"),
    ("error-rate", "rate", "probability that an API call answers 500 without doing anything"),
    (
        "timeout-rate",
        "rate",
        "probability that an API write is done but answered only after --timeout-sleep-s",
    ),
    ("timeout-sleep-s", "seconds", "how long a timed-out answer is held back"),
    ("decline-rate", "rate", "probability that an approval at the hosted page is declined anyway"),
    ("processing-ms", "int", "> 0: an approval passes through `processing` this long"),
    ("refund-delay-ms", "int", "how long an Alipay / WeChat Pay refund stays pending"),
    ("refund-failure-rate", "rate", "probability that an Alipay / WeChat Pay refund fails"),
    ("duplicate-webhook-rate", "rate", "probability that an event is delivered twice"),
    (
        "reorder-webhook-rate",
        "rate",
        "probability that an event is held back, so a later one may overtake it",
    ),
)


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the simulator's flags on `parser` (the `topup simulate payments` sub-command or `-m`)."""
    secret = CONFIG.webhook_secrets[0] if CONFIG.webhook_secrets else ""
    add = parser.add_argument
    add("--host", default=_env("host", "127.0.0.1"), help="interface to listen on")
    add(
        "--port",
        type=int,
        default=int(_env("port", str(CONFIG.payments_port)) or 0),
        help="port to listen on",
    )
    add("--api-key", default=_env("api-key", CONFIG.payments_api_key), help="the one accepted bearer key")
    add(
        "--webhook-url",
        default=_env("webhook-url", f"{CONFIG.public_url}/api/v1/payments/webhooks/stripe"),
        help="where events are POSTed; empty disables delivery",
    )
    add("--webhook-secret", default=_env("webhook-secret", secret), help="signs Stripe-Signature")
    add(
        "--webhook-events",
        default=_env("webhook-events", "*"),
        help="comma-separated event types sent to --webhook-url (Stripe's enabled_events); * for all",
    )
    add(
        "--public-url",
        default=_env("public-url", None),
        help="base of the hosted pages (default http://host:port)",
    )
    for name, kind, helptext in FAULT_FLAGS:
        parse = _rate if kind == "rate" else (float if kind == "seconds" else int)
        default = str(getattr(Faults(), name.replace("-", "_")))
        add(f"--{name}", type=parse, default=parse(_env(name, default) or default), help=helptext)
    seed = _env("seed", None)
    add("--seed", type=int, default=int(seed) if seed else None, help="PRNG seed for reproducible faults")
    state_file = _env("state-file", None)
    add(
        "--state-file", type=Path, default=Path(state_file) if state_file else None,
        help="SQLite file keeping PaymentIntents, refunds, sessions, events and webhook endpoints across "
        "restarts (default: in memory)",
    )  # fmt: skip


def settings_from_args(args: argparse.Namespace) -> SimulatorSettings:
    host = str(args.host)
    port = int(args.port)
    public_url = str(args.public_url or f"http://{host}:{port}").rstrip("/")
    return SimulatorSettings(
        host=host,
        port=port,
        api_key=str(args.api_key),
        webhook_url=str(args.webhook_url or ""),
        webhook_secret=str(args.webhook_secret),
        webhook_events=tuple(str(args.webhook_events).split(",")),
        public_url=public_url,
        faults=Faults(
            **{name.replace("-", "_"): getattr(args, name.replace("-", "_")) for name, _, _ in FAULT_FLAGS}
        ),
        seed=args.seed,
        state_file=args.state_file,
    )
