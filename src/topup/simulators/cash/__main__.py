"""`python -m topup.simulators.cash --port N ...` runs the cash acceptor simulator."""

from topup.simulators.cash.cli import main

main()
