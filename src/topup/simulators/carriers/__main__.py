"""`python -m topup.simulators.carriers --port N ...` runs the carrier simulator."""

from topup.simulators.carriers.cli import main

main()
