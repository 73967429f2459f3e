"""slakit: SLA contracts to Prometheus monitoring."""

__version__ = "0.1.0"
