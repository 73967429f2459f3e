# slakit — developer entry points. `make help` lists them.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
APT_PACKAGES := prometheus prometheus-alertmanager chromium openssl
PYTEST_WORKERS ?= 4

.PHONY: help deps system-deps python-deps demo run test lint unit generate generate-into check-generated bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

deps: system-deps python-deps  ## install everything slakit and its tests need

system-deps:  ## Debian packages: Prometheus, promtool, Alertmanager, amtool, Chromium, kubectl (root, apt-get)
	@missing=""; for b in prometheus promtool prometheus-alertmanager amtool chromium; do command -v $$b >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT_PACKAGES); \
	fi
	@command -v kubectl >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kubernetes-client; }

python-deps:  ## slakit itself, editable, with the test extra
	$(PIP) install --quiet -e '.[test]'

demo: system-deps python-deps  ## main job: fake ERP API + exporter + Prometheus + Alertmanager on 127.0.0.1; a 5xx burst pages, then resolves
	$(PYTHON) -m slakit demo

run: python-deps  ## the exporter alone, with exporter/config.example.yaml on 127.0.0.1:9141
	$(PYTHON) -m slakit exporter --config.file exporter/config.example.yaml --web.listen-address 127.0.0.1:9141

lint:  ## ruff
	$(PYTHON) -m ruff check slakit tests bench
	$(PYTHON) -m ruff format --check slakit tests bench

unit:  ## the pytest suite only
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) -q

test: deps lint check-generated unit  ## the whole suite: lint, generated-file drift, pytest

GENERATED := rules/generated docs/schemas grafana exporter/kubernetes/rules

generate:  ## rewrite every checked-in generated file: rules/generated (rules, promtool tests, alertmanager.yml), grafana/, exporter/kubernetes/rules, docs/schemas
	$(MAKE) --no-print-directory generate-into OUT=.

generate-into:
	rm -rf $(OUT)/rules/generated $(OUT)/grafana $(OUT)/exporter/kubernetes/rules && mkdir -p $(OUT)/docs/schemas
	$(PYTHON) -m slakit rules generate rules/specs/*.yaml --maintenance rules/maintenance/employee-records.yaml -o $(OUT)/rules/generated >/dev/null
	$(PYTHON) -m slakit alertmanager rules/specs/*.yaml -o $(OUT)/rules/generated/alertmanager.yml
	$(PYTHON) -m slakit rules generate rules/specs/*.yaml --format operator --no-tests -o $(OUT)/exporter/kubernetes/rules >/dev/null
	$(PYTHON) -m slakit dashboards generate rules/specs/*.yaml -o $(OUT)/grafana/dashboards --provisioning $(OUT)/grafana/provisioning >/dev/null
	$(PYTHON) -m slakit check --print-schema spec > $(OUT)/docs/schemas/slo-spec.schema.json
	$(PYTHON) -m slakit check --print-schema exporter-config > $(OUT)/docs/schemas/exporter-config.schema.json

check-generated: python-deps  ## fail when checked-in generated files differ from what the code generates
	@tmp=$$(mktemp -d); \
	$(MAKE) --no-print-directory generate-into OUT=$$tmp && \
	for d in $(GENERATED); do diff -ru $$d $$tmp/$$d || { echo "$$d drifted: run 'make generate'"; rm -rf $$tmp; exit 1; }; done; \
	rm -rf $$tmp

bench: python-deps  ## benchmarks; results go to docs/benchmarks.md by hand
	$(PYTHON) -m bench

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
