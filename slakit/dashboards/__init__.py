"""Grafana dashboards generated from SLO specs, on the recorded series of docs/rules.md.

Dashboards are plain Python data (dicts and lists) serialised with sorted keys: no template engine and no
dashboard SDK (see docs/dashboards.md for why).
"""
