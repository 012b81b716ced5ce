"""`python -m topup.simulators.mail --port N --maildir DIR` runs the SMTP sink."""

from topup.simulators.mail.cli import main

main()
