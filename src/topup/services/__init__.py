"""Use cases of Topup: each one opens a unit of work, asks the domain, commits and emits events."""
