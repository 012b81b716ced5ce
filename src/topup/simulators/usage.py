"""A simulated packet core: realistic data sessions on hosted lines, posted in batches to the usage API.

    topup simulate usage --api-key KEY --iccid 8932... [--iccid ...] --records 100000 --batch 1000
        [--url http://127.0.0.1:8000] [--seed 7] [--duplicates 0.05]

Sessions last up to ten minutes, start within the last hour and carry 10 kB to 50 MB (log-uniform: many
small sessions, a few large ones). `--duplicates` resends that share of records with an id already sent, as a
packet core retrying a delivery would; the server must count them as duplicates. Loopback only.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import httpx

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_SESSION_BYTES = 10 * 1024
MAX_SESSION_BYTES = 50 * 1024 * 1024
COUNTS = ("accepted", "duplicates", "refused_kb")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    port = os.environ.get("TOPUP_PORT", "8000")
    parser.add_argument("--url", default=f"http://127.0.0.1:{port}", help="the platform (loopback only)")
    parser.add_argument("--api-key", required=True, help="a key with the usage:write scope")
    parser.add_argument("--iccid", action="append", required=True, help="a hosted line's ICCID, repeatable")
    parser.add_argument("--records", type=int, default=10_000, help="records to send (default 10000)")
    parser.add_argument("--batch", type=int, default=1_000, help="records per request (default 1000)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the traffic (reproducible runs)")
    parser.add_argument(
        "--duplicates", type=float, default=0.0, help="share of records resent with an earlier id (0.0)"
    )
    parser.add_argument("--timeout-s", type=float, default=60.0, help="per request (default 60)")


def require_loopback(url: str) -> str:
    """The URL without a trailing slash; SystemExit when it is not http(s) on a loopback host."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or parsed.hostname not in LOOPBACK_HOSTS:
        raise SystemExit(f"usage simulator: refusing {url!r}: only http(s) on 127.0.0.1, localhost or ::1")
    return url.rstrip("/")


def session(rng: random.Random, iccid: str, record_id: str, now: datetime) -> dict[str, object]:
    """One data session of a line: its size, and start/end within the last hour."""
    size = int(math.exp(rng.uniform(math.log(MIN_SESSION_BYTES), math.log(MAX_SESSION_BYTES))))
    duration_s = rng.uniform(1, 600)
    end = now - timedelta(seconds=rng.uniform(0, 3600 - duration_s))
    start = end - timedelta(seconds=duration_s)
    return {
        "id": record_id,
        "iccid": iccid,
        "bytes": size,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def traffic(
    iccids: Sequence[str], records: int, *, seed: int | None, duplicates: float, now: datetime
) -> Iterator[dict[str, object]]:
    """`records` sessions over the lines; a `duplicates` share repeats an earlier record, id and all."""
    rng = random.Random(seed)
    run = f"{seed if seed is not None else rng.getrandbits(32):x}-{int(now.timestamp())}"
    sent: list[dict[str, object]] = []
    for n in range(records):
        if sent and rng.random() < duplicates:
            yield rng.choice(sent)
            continue
        record = session(rng, rng.choice(iccids), f"sim-{run}-{n}", now)
        sent.append(record)
        yield record


def _batches(records: Iterator[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(args: argparse.Namespace) -> None:
    """Post the traffic batch by batch and print the server's counts and the records per second."""
    base_url = require_loopback(args.url)
    if args.records < 1 or args.batch < 1 or not 0.0 <= args.duplicates < 1.0:
        raise SystemExit("usage simulator: --records and --batch must be >= 1, --duplicates in [0, 1)")
    totals = dict.fromkeys(COUNTS, 0)
    records = traffic(
        args.iccid, args.records, seed=args.seed, duplicates=args.duplicates, now=datetime.now(UTC)
    )
    headers = {"Authorization": f"Bearer {args.api_key}"}
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, headers=headers, timeout=args.timeout_s) as client:
        for batch in _batches(records, args.batch):
            try:
                response = client.post("/api/v1/usage", json={"records": batch})
            except httpx.HTTPError as exc:
                raise SystemExit(f"usage simulator: {base_url} not reachable: {exc}") from exc
            if response.status_code != 200:
                raise SystemExit(f"usage simulator: HTTP {response.status_code}: {response.text[:500]}")
            answer = response.json()
            for name in COUNTS:
                totals[name] += int(answer.get(name, 0))
    elapsed_s = time.perf_counter() - started
    rate = args.records / elapsed_s if elapsed_s > 0 else float("inf")
    print(f"sent {args.records} records in {elapsed_s:.2f} s: {rate:,.0f} records/s")
    print("server: " + ", ".join(f"{name} {totals[name]}" for name in COUNTS))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.usage", description="Simulated packet core: post usage batches."
    )
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
