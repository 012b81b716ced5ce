"""Pure business rules of Topup: no Django, no I/O, no clock, no randomness."""
