"""`python -m topup.simulators.smdp --port N ...` runs the SM-DP+ simulator."""

from topup.simulators.smdp.cli import main

main()
