"""Sub-commands of the `slakit` CLI."""
