"""`python -m topup.simulators.payments [--port N ...]` runs the payment simulator until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse

from topup.simulators.payments import add_arguments, run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m topup.simulators.payments", description=__doc__)
    add_arguments(parser)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
