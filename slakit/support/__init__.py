"""Support SLA: business-time deadlines, the ticket book and its metrics."""
