"""Prometheus metrics: `series` defines every series (name, help, labels) in one place; `record` and `peers`
count events where they happen; `scrape` answers /metrics; `processes` is the folder every process shares."""
