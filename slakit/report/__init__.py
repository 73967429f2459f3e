"""The monthly SLA report: exact per-minute outcomes from Prometheus, contract exclusions, credits."""
