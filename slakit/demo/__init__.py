"""`slakit demo`: a fake ERP API with injectable faults, the exporter, Prometheus and Alertmanager, end to end.

`fake_api` (the API and its logs), `traffic` (steady requests), `receiver` (prints Alertmanager notifications),
`stack` (the exporter, Prometheus and Alertmanager processes and their configs), `backfill` (a month of synthetic
history), `scenario` (the scripted run).
"""
