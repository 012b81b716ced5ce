"""`python -m topup.simulators.dtone --port N ...` runs the DT One DVS simulator."""

from topup.simulators.dtone.cli import main

main()
