"""Contract semantics the rules cannot see: planned downtime, the exclusions ledger, closed months."""
