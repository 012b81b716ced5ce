"""`python -m topup.simulators.smsc --smpp-port N --http-port M ...` runs the SMSC simulator."""

from topup.simulators.smsc.cli import main

main()
