"""The slakit probe exporter: probes on their own schedule, counted by the minute."""
