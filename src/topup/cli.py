"""The `topup` command: serve the whole demo, run the web server or the worker, simulators, keys, bench."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from topup.db_unreachable import check_database
from topup.process import start_django


def _django() -> None:
    start_django()


def cmd_agents(args: argparse.Namespace) -> None:
    from topup.agents_cli import run  # noqa: PLC0415

    run(args)


def cmd_migrate(args: argparse.Namespace) -> None:
    from topup.settings import CONFIG  # noqa: PLC0415

    CONFIG.data_dir.mkdir(parents=True, exist_ok=True)
    _django()
    from django.core.management import call_command  # noqa: PLC0415

    from topup.services.seed import seed_demo  # noqa: PLC0415

    call_command("migrate", interactive=False, verbosity=0)
    seed = seeds_demo(args, production=CONFIG.is_production)
    if seed:
        from topup.adapters.fx.ecb import BUNDLED  # noqa: PLC0415
        from topup.fx_cli import import_rates  # noqa: PLC0415

        seed_demo()
        import_rates(file=BUNDLED)  # the sample rates, so that Alipay and WeChat Pay payers see yuan
        if not CONFIG.is_production:  # the demo shop's credentials are published: never in production
            from topup.services.retail_seed import seed_demo_shop  # noqa: PLC0415

            seed_demo_shop()
            from topup.services.promotion_seed import seed_demo_promotions  # noqa: PLC0415

            seed_demo_promotions()  # a first top-up discount, a buy-one-get-one, the code FLYER5
    print("database migrated" + (" and demo catalogue seeded" if seed else ""))


def seeds_demo(args: argparse.Namespace, *, production: bool) -> bool:
    """The demo catalogue is seeded by default in the demo; production seeds it only with --seed-demo."""
    return bool(args.seed_demo or (not args.no_seed and not production))


def cmd_worker(args: argparse.Namespace) -> None:
    _django()
    from topup import tracing  # noqa: PLC0415
    from topup.metrics import processes  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415
    from topup.worker import Worker  # noqa: PLC0415

    tracing.set_role("worker")
    worker = Worker(threads=args.threads or CONFIG.worker_threads, lease_s=CONFIG.job_lease_s)
    worker.install_signal_handlers()
    worker.run()
    processes.exited()  # /metrics: its live gauges leave the multiprocess folder


def cmd_web(args: argparse.Namespace) -> None:
    from topup.metrics import processes  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "topup.wsgi:application",
        "--bind",
        f"{CONFIG.host}:{CONFIG.port}",
        "--workers",
        str(args.workers or CONFIG.web_workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(CONFIG.web_threads),
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        "--keep-alive",  # seconds an idle client connection stays open; longer than clients reuse it
        "20",
        # The app (Django, the API, the adapters) is loaded once in the master, then its workers are forked:
        # each no longer spends a second and a half loading it. Loading opens no database connection and
        # starts no thread (tests/unit/test_serve_start.py), so nothing is shared across the fork.
        "--preload",
        "--config",  # child_exit: a dead web worker's live gauges leave the metrics folder
        "python:topup.metrics.gunicorn_hooks",
    ]
    # Alone, the web owns the metrics folder and empties it; under `topup serve`, serve did it already.
    processes.prepare(CONFIG.metrics_dir, fresh=processes.ENV not in os.environ)
    os.environ["TOPUP_PROCESS"] = "web"
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn, no shell involved


def cmd_apikey(args: argparse.Namespace) -> None:
    _django()
    from topup.channels.api.auth import create_key  # noqa: PLC0415

    key = create_key(args.scope, name=args.name)
    print(f"created an API key with scopes {', '.join(args.scope)}; it is shown once:")
    print(key)


def cmd_vouchers(args: argparse.Namespace) -> None:
    _django()
    from topup.vouchers_cli import run  # noqa: PLC0415

    run(args)


def cmd_kiosk(args: argparse.Namespace) -> None:
    from topup.kiosk_cli import run  # noqa: PLC0415

    run(args)


def cmd_sms_gateway(args: argparse.Namespace) -> None:
    _django()
    from topup.sms_gateway import run  # noqa: PLC0415

    run()


def cmd_jobs(args: argparse.Namespace) -> None:
    """`topup jobs list [--dead]` and `topup jobs requeue (--id ID | --kind KIND | --all-dead)`."""
    _django()
    from topup.services import jobs  # noqa: PLC0415

    if args.action == "requeue":
        if not (args.id or args.kind or args.all_dead):
            sys.exit("topup jobs requeue: give --id ID, --kind KIND or --all-dead")
        count = jobs.requeue(job_id=args.id, kind=args.kind, all_dead=args.all_dead)
        print(f"requeued {count} dead job(s)")
        return
    for row in jobs.listing(dead_only=args.dead):
        error = str(row["last_error"]).replace("\n", " ")[:80]
        print(f"{row['id']}  {row['kind']:<14} {row['subject_id']:<32} {row['status']:<6} "
              f"{row['attempts']:>3}  {error}")  # fmt: skip


def cmd_payments(args: argparse.Namespace) -> None:
    """`topup payments review` lists payments under review; `refund-review PAY_ID` gives their money back."""
    _django()
    from topup.db.models import Payment  # noqa: PLC0415
    from topup.services import payments  # noqa: PLC0415

    if args.action in {"payouts", "payout-done"}:
        _payouts(args)
        return
    if args.action == "refund-review":
        outcome = payments.refund_under_review(args.payment_id)
        print(f"{args.payment_id}: {outcome}")
        if outcome != "refunded":
            sys.exit(1)
        return
    for p in Payment.objects.filter(status="needs_review").order_by("created_at"):
        print(f"{p.id}  order {p.order_id}  {p.review_code}: received {p.received_minor} "
              f"{p.received_currency}, expected {p.amount_minor} {p.currency}")  # fmt: skip


def cmd_fx(args: argparse.Namespace) -> None:
    """`topup fx import [--file PATH | --url URL]`: the ECB's euro reference rates (yuan for Alipay and
    WeChat Pay payers)."""
    _django()
    from topup.fx_cli import run  # noqa: PLC0415

    run(args)


def _payouts(args: argparse.Namespace) -> None:
    """`payouts` lists refunds that failed at the provider; `payout-done` records one paid back by hand."""
    from topup.services import refunds  # noqa: PLC0415

    if args.action == "payout-done":
        outcome = refunds.payout_done(args.payment_id, args.reference)
        print(f"{args.payment_id}: {outcome}")
        if outcome != refunds.PAID_OUT:
            sys.exit(1)
        return
    for row in refunds.payouts():
        print(f"{row['payment_id']}  order {row['order_id']}  {row['amount']}  {row['method']}  "
              f"refund {row['refund_ref'] or '-'} failed ({row['code']}) since {row['since']}")  # fmt: skip


def cmd_manage(args: argparse.Namespace) -> None:
    """Django's management commands, e.g. `topup manage createsuperuser` for the back office at /admin/."""
    _django()
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    execute_from_command_line(["topup manage", *args.django_args])


def cmd_doctor(args: argparse.Namespace) -> None:
    from topup.doctor import run  # noqa: PLC0415

    run(args)


def cmd_serve(args: argparse.Namespace) -> None:
    from topup.serve import serve  # noqa: PLC0415

    serve()


def cmd_simulate(args: argparse.Namespace) -> None:
    args.simulator_run(args)


def cmd_privacy(args: argparse.Namespace) -> None:
    from topup.privacy_cli import run_privacy  # noqa: PLC0415

    run_privacy(args)


def cmd_keys(args: argparse.Namespace) -> None:
    from topup.privacy_cli import run_keys  # noqa: PLC0415

    run_keys(args)


def cmd_partitions(args: argparse.Namespace) -> None:
    from topup.partitions_cli import run  # noqa: PLC0415

    run(args)


def cmd_bench(args: argparse.Namespace) -> None:
    from topup.bench import run  # noqa: PLC0415

    run(args)


def cmd_cluster(args: argparse.Namespace) -> None:
    from topup.cluster.cli import run  # noqa: PLC0415

    run(args)


def cmd_chaos(args: argparse.Namespace) -> None:
    from topup.chaos import run  # noqa: PLC0415

    run(args)


# The commands `topup serve` starts (and `migrate`): their parser is built without importing the modules of
# every other command, which cost each child of `topup serve` half a second of start-up. `doctor` too: those
# modules load the settings, and the doctor must start (and say why) when the settings refuse to load.
LEAN_COMMANDS = frozenset({"serve", "migrate", "web", "worker", "sms-gateway", "simulate", "doctor"})


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole command line; only the part `argv` needs when it names one of `LEAN_COMMANDS`."""
    lean = bool(argv) and argv[0] in LEAN_COMMANDS
    parser = argparse.ArgumentParser(prog="topup", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "serve", help="migrate, seed and run web, worker and simulators (production: web and worker only)"
    ).set_defaults(func=cmd_serve)
    migrate = sub.add_parser(
        "migrate", help="create or update the database schema and seed the demo (not in production)"
    )
    seeding = migrate.add_mutually_exclusive_group()
    seeding.add_argument("--no-seed", action="store_true", help="do not seed the demo catalogue")
    seeding.add_argument("--seed-demo", action="store_true", help="seed it, in production too")
    migrate.set_defaults(func=cmd_migrate)
    web = sub.add_parser("web", help="serve the web pages and the API with gunicorn")
    web.add_argument("--workers", type=int, default=0)
    web.set_defaults(func=cmd_web)
    worker = sub.add_parser("worker", help="run background jobs (deliveries, refunds)")
    worker.add_argument("--threads", type=int, default=0)
    worker.set_defaults(func=cmd_worker)
    apikey = sub.add_parser("apikey", help="manage API keys").add_subparsers(dest="action", required=True)
    create = apikey.add_parser("create", help="create a key; it is printed alone on the last line")
    create.add_argument("--scope", action="append", required=True, help="balance:read, usage:write, admin...")
    create.add_argument("--name", default="")
    create.set_defaults(func=cmd_apikey)
    vouchers = sub.add_parser("vouchers", help="recharge vouchers: generate a printable batch, void, expire")
    _add_voucher_arguments(vouchers)
    vouchers.set_defaults(func=cmd_vouchers)
    kiosk = sub.add_parser(
        "kiosk", help="self-service kiosks: enrol a kiosk's browser, revoke it, set its devices"
    )
    _add_kiosk_arguments(kiosk)
    kiosk.set_defaults(func=cmd_kiosk)
    sms_gateway = sub.add_parser("sms-gateway", help="bind to the SMSC over SMPP and answer SMS commands")
    sms_gateway.set_defaults(func=cmd_sms_gateway)
    simulate = sub.add_parser("simulate", help="run a simulated outside party")
    if not lean or argv[0] == "simulate":
        _add_simulators(simulate, argv[1] if lean and len(argv) > 1 else None)
    doctor = sub.add_parser(
        "doctor",
        help="check configuration, database, peers, job queue and ledger; exit 1 if something is wrong",
    )
    _add_doctor_arguments(doctor)
    doctor.set_defaults(func=cmd_doctor)
    if not lean:
        _add_other_commands(sub)
    return parser


def _add_other_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_job_and_payment_commands(sub)
    _add_reconcile(sub)
    _add_privacy(sub)
    _add_fx(sub)
    agents = sub.add_parser("agents", help="agent console accounts (password, TOTP) and the audit log")
    _add_agents_arguments(agents)
    agents.set_defaults(func=cmd_agents)
    _add_receipt(sub)
    _add_retail(sub)
    _add_promotions(sub)
    manage = sub.add_parser("manage", help="Django management commands (createsuperuser, shell, ...)")
    manage.add_argument("django_args", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    bench = sub.add_parser("bench", help="benchmark paid top-ups end to end against a running server")
    _add_bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    cluster = sub.add_parser(
        "cluster", help="several hosts on this machine: Patroni, HAProxy, PgBouncer, nodes"
    )
    _add_cluster_arguments(cluster)
    cluster.set_defaults(func=cmd_cluster)
    chaos = sub.add_parser("chaos", help="a seeded, replayable run of the platform under faults, then checks")
    _add_chaos_arguments(chaos)
    chaos.set_defaults(func=cmd_chaos)


SIMULATORS = {  # `topup simulate NAME`: the module that adds its arguments and runs it, and what it plays
    "payments": ("payments", "payment provider: checkout page, signed webhooks, refunds"),
    "carriers": ("carriers", "carrier gateways of Proximus, Orange Belgium, BASE and Telenet"),
    "dtone": ("dtone", "DT One DVS aggregator API: airtime and bundles of the Belgian operators"),
    "smdp": ("smdp", "SM-DP+ speaking ES2+: profile pools, downloads, progress notifications"),
    "phone": ("phone", "a phone installing an eSIM profile from an activation code"),
    "usage": ("usage", "a packet core posting data usage batches to the platform"),
    "smsc": ("smsc", "an SMSC speaking SMPP 3.4, with phones played over HTTP"),
    "sms": ("smsc.phone_cli", "a phone sending one SMS through the SMSC and printing the replies"),
    "cash": ("cash", "a kiosk's cash acceptor: notes and coins reported as signed events"),
    "mail": ("mail", "an SMTP sink keeping the demo's e-mail in a Maildir: serve, list, show [N]"),
    "ussd": ("ussd_phone", "a phone dialling a USSD code through a signing gateway: --from +32… --text 1"),
    "pos": (
        "pos",
        "a shop's POS terminal signing its requests: catalogue, sell, status, void, receipt, x, z",
    ),
}


def _add_simulators(simulate: argparse.ArgumentParser, only: str | None = None) -> None:
    """Every simulator's arguments, or only those of the simulator named `only` (its module alone loads)."""
    kinds = simulate.add_subparsers(dest="simulator", required=True)
    for name, (module_name, help_text) in SIMULATORS.items():
        if only in SIMULATORS and name != only:
            continue
        module = importlib.import_module(f"topup.simulators.{module_name}")
        sim = kinds.add_parser(name, help=help_text)
        module.add_arguments(sim)
        sim.set_defaults(func=cmd_simulate, simulator_run=module.run)


def _add_job_and_payment_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = sub.add_parser("jobs", help="background jobs: list them, requeue dead ones")
    jobs.set_defaults(func=cmd_jobs)
    actions = jobs.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the latest jobs, newest first")
    listing.add_argument("--dead", action="store_true", help="only dead jobs")
    requeue = actions.add_parser("requeue", help="give dead jobs another round (attempts reset)")
    requeue.add_argument("--id", default="", help="one job by its id")
    requeue.add_argument("--kind", default="", help="every dead job of this kind (deliver, refund, ...)")
    requeue.add_argument("--all-dead", action="store_true", help="every dead job")
    payments = sub.add_parser("payments", help="payments under review; refunds to pay back by hand")
    payments.set_defaults(func=cmd_payments)
    review = payments.add_subparsers(dest="action", required=True)
    review.add_parser("review", help="list payments under review (amount or currency mismatch)")
    refund = review.add_parser("refund-review", help="refund what a payment under review received")
    refund.add_argument("payment_id")
    review.add_parser("payouts", help="list refunds the provider could not make (pay them back by hand)")
    done = review.add_parser("payout-done", help="record a refund paid back by hand (ledger, order refunded)")
    done.add_argument("payment_id")
    done.add_argument("--reference", required=True, help="the reference of the bank transfer to the customer")


def _add_fx(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from topup.fx_cli import add_arguments  # noqa: PLC0415

    fx = sub.add_parser("fx", help="exchange rates: import the ECB's euro reference rates")
    add_arguments(fx)
    fx.set_defaults(func=cmd_fx)


def _add_reconcile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from topup.reconcile_cli import add_reconcile  # noqa: PLC0415

    add_reconcile(sub)


def _add_kiosk_arguments(parser: argparse.ArgumentParser) -> None:
    from topup.kiosk_cli import add_arguments  # noqa: PLC0415

    add_arguments(parser)


def _add_voucher_arguments(parser: argparse.ArgumentParser) -> None:
    from topup.vouchers_cli import add_arguments  # noqa: PLC0415

    add_arguments(parser)


def _add_agents_arguments(parser: argparse.ArgumentParser) -> None:
    from topup.agents_cli import add_arguments  # noqa: PLC0415

    add_arguments(parser)


def _add_receipt(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from topup.receipts_cli import add_parser  # noqa: PLC0415

    add_parser(sub)


def _add_retail(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from topup.retail_cli import add_arguments, run  # noqa: PLC0415

    retail = sub.add_parser("retail", help="shops: retailers, terminals, float top-ups, commissions")
    add_arguments(retail)
    retail.set_defaults(func=run)


def _add_promotions(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from topup.promotions_cli import add_arguments, run  # noqa: PLC0415

    promotions = sub.add_parser("promotions", help="promotions: list campaigns, create promo codes")
    add_arguments(promotions)
    promotions.set_defaults(func=run)


def _add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    from topup.doctor import add_arguments  # noqa: PLC0415

    add_arguments(parser)


def _add_bench_arguments(bench: argparse.ArgumentParser) -> None:
    from topup.bench import add_arguments  # noqa: PLC0415

    add_arguments(bench)


def _add_cluster_arguments(cluster: argparse.ArgumentParser) -> None:
    from topup.cluster.cli import add_arguments  # noqa: PLC0415

    add_arguments(cluster)


def _add_chaos_arguments(chaos: argparse.ArgumentParser) -> None:
    from topup.chaos import add_arguments  # noqa: PLC0415

    add_arguments(chaos)


def _add_privacy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from topup.privacy_cli import add_keys_arguments, add_privacy_arguments  # noqa: PLC0415

    privacy = sub.add_parser("privacy", help="GDPR export and erasure of a person; purge by retention")
    add_privacy_arguments(privacy)
    privacy.set_defaults(func=cmd_privacy)
    keys = sub.add_parser("keys", help="personal data keys: rotate re-encrypts with the first key")
    add_keys_arguments(keys)
    keys.set_defaults(func=cmd_keys)
    from topup.partitions_cli import add_arguments  # noqa: PLC0415

    partitions = sub.add_parser(
        "partitions", help="time-partitioned tables (PostgreSQL): status, upkeep, archive"
    )
    add_arguments(partitions)
    partitions.set_defaults(func=cmd_partitions)


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    before_database = getattr(args, "before_database", None)
    if before_database is not None:  # refused from its arguments alone (vouchers --out)
        before_database(args)
    check_database(argv)  # once, before the command: a later database error keeps its traceback
    args.func(args)


if __name__ == "__main__":
    main()
