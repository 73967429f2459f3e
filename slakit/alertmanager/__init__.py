"""Alertmanager routing for slakit's alerts, generated from the specs."""

from slakit.alertmanager.config import RECEIVERS, Timing, build_config, render_config

__all__ = ["RECEIVERS", "Timing", "build_config", "render_config"]
