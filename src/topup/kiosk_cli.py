"""`topup kiosk`: enrol a kiosk's browser as a retailer's kiosk terminal (a one-time code, printed once as
the URL to open on the kiosk), revoke every browser enrolled for a terminal, or set the kiosk's devices."""

from __future__ import annotations

import argparse
import sys

from topup.process import start_django


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="kiosk_action", required=True)
    enrol = actions.add_parser("enrol", help="a one-time enrolment URL for a kiosk terminal (valid 24 h)")
    enrol.add_argument("terminal", help="the kiosk terminal's id (trm_…, kind kiosk)")
    revoke = actions.add_parser("revoke", help="unbind every browser enrolled for the terminal")
    revoke.add_argument("terminal")
    devices = actions.add_parser(
        "devices", help="show or set a kiosk's own card reader, cash acceptor and printer ('' = the setting)"
    )
    devices.add_argument("terminal")
    devices.add_argument("--reader", help="its Stripe Terminal reader id (tmr_…)")
    devices.add_argument("--cash-url", help="its cash acceptor's device service, e.g. http://10.0.0.7:8008")
    devices.add_argument("--printer", help="file:/path, network:host[:9100] or dummy")


def run(args: argparse.Namespace) -> None:
    start_django()
    from topup.clock import now  # noqa: PLC0415
    from topup.domain.errors import DomainError  # noqa: PLC0415
    from topup.services import kiosk_enrolment  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    if args.kiosk_action == "devices":
        from topup.services import kiosk_devices  # noqa: PLC0415

        try:
            now_set = kiosk_devices.set_devices(
                args.terminal, reader_id=args.reader, cash_url=args.cash_url, printer=args.printer
            )
        except LookupError as exc:
            raise SystemExit(f"topup kiosk devices: {exc}") from exc
        sys.stdout.write(
            f"reader {now_set.reader_id}\ncash acceptor {now_set.cash_url}\nprinter {now_set.printer}\n"
        )
        return
    if args.kiosk_action == "revoke":
        count = kiosk_enrolment.revoke(args.terminal, at=now())
        sys.stdout.write(f"{count} enrolment(s) of {args.terminal} revoked\n")
        return
    try:
        _enrolment_id, code = kiosk_enrolment.make_code(args.terminal, at=now())
    except DomainError as exc:
        raise SystemExit(f"topup kiosk enrol: {exc.message}") from exc
    sys.stdout.write(
        "Open this address once in the kiosk's browser (valid 24 hours, works once):\n"
        f"{CONFIG.public_url}/kiosk/enrol?code={code}\n"
    )
