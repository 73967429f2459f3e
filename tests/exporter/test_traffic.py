"""Real-traffic counters: label values at 0 from the start, monotonic, parseable exposition."""

from __future__ import annotations

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from slakit.exporter.runtime import Exporter
from slakit.exporter.traffic import TrafficCounters, code_class


def samples(text: str, openmetrics: bool) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    parse = parse_openmetrics if openmetrics else parse_text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in parse(text) for s in f.samples}


def test_declared_services_exist_at_zero_and_count_up() -> None:
    counters = TrafficCounters()
    counters.declare("requests", ["erp-api"])
    counters.declare("webhook_deliveries", ["erp-api"])
    text = "".join(counters.render(False))
    found = samples(text, False)
    for cls in ("1xx", "2xx", "3xx", "4xx", "5xx"):
        assert found[("slakit_requests_total", (("code_class", cls), ("service", "erp-api")))] == 0
    assert found[("slakit_webhook_deliveries_total", (("result", "failed"), ("service", "erp-api")))] == 0
    assert not any(name == "slakit_menu_syncs_total" for name, _ in found)  # nothing declared, nothing shown

    counters.add("requests", "erp-api", "5xx", 3)
    counters.add("requests", "erp-api", "2xx")
    counters.declare("requests", ["erp-api"])  # re-declaring (a reload) never resets
    assert counters.value("requests", "erp-api", "5xx") == 3
    assert counters.value("requests", "erp-api", "2xx") == 1


@pytest.mark.parametrize("openmetrics", [False, True])
def test_rendered_with_the_exporter_in_both_formats(openmetrics: bool) -> None:
    exporter = Exporter()
    exporter.traffic.add("menu_syncs", 'odd"svc', "failed", 2)
    body = exporter.render(openmetrics).decode()
    found = samples(body, openmetrics)
    assert found[("slakit_menu_syncs_total", (("result", "failed"), ("service", 'odd"svc')))] == 2
    assert found[("slakit_menu_syncs_total", (("result", "ok"), ("service", 'odd"svc')))] == 0


def test_bad_values_are_refused() -> None:
    counters = TrafficCounters()
    with pytest.raises(ValueError, match="code_class '6xx'"):
        counters.add("requests", "erp-api", "6xx")
    with pytest.raises(ValueError, match="only grow"):
        counters.add("requests", "erp-api", "2xx", -1)


@pytest.mark.parametrize(("status", "expected"), [(100, "1xx"), (200, "2xx"), (599, "5xx"), (99, None), (600, None)])
def test_code_class(status: int, expected: str | None) -> None:
    assert code_class(status) == expected
