# Two commands for a newcomer: `make run` builds the warehouse from scratch,
# `make test` runs every test. Both create the virtualenv on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Dagster keeps its run history here, so runs made by `make run` show up in
# `make dev`; inside the git-ignored data folder.
export DAGSTER_HOME := $(CURDIR)/data/dagster_home

# The test warehouse is separate from the one `make run` builds, smaller, and
# pinned to a fixed as-of date so its results do not depend on the calendar.
# The token is emptied so test data never reaches a real CRM portal.
TEST_ENV := CS_LANDING_DIR=$(CURDIR)/data/test/landing \
	CS_DUCKDB_PATH=$(CURDIR)/data/test/warehouse.duckdb \
	CS_AS_OF_DATE=2026-11-30 CS_DEMO_ACCOUNTS=150 HUBSPOT_ACCESS_TOKEN=

.PHONY: install run test lint dbt-build pytest browser test-spark dev dashboard metrics bench clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' \
		> $(DAGSTER_HOME)/dagster.yaml
	touch $(STAMP)

install: $(STAMP)

# The spark extra (PySpark, about 630 MB) only for `make test-spark`.
SPARK_STAMP := $(VENV)/.spark-installed-stamp
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/pip install --quiet -r requirements-spark.lock
	touch $(SPARK_STAMP)

## Generate demo data if none is present, load it, build and test every model.
run: install
	$(BIN)/python -m orchestration.run

## The whole test suite: sqlfluff, dbt build with its tests, pytest.
test: lint dbt-build pytest

lint: install
	$(BIN)/sqlfluff lint models --processes 2

dbt-build: install
	$(TEST_ENV) $(BIN)/python -m orchestration.run

pytest: install browser
	HUBSPOT_ACCESS_TOKEN= $(BIN)/python -m pytest -q

# Debian's Chromium for the dashboard's browser test (Playwright cannot
# download a browser here). Without root the install is skipped and the
# browser test says so; everything else still runs.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: the dashboard's browser test will be skipped"

## The models on Apache Spark (local mode; Java 17) and DuckDB, compared mart
## for mart on one small generated dataset (docs/portability.md).
test-spark: $(SPARK_STAMP)
	CS_SPARK_TESTS=1 HUBSPOT_ACCESS_TOKEN= $(BIN)/python -m pytest -q tests/spark

## The Dagster UI on http://localhost:3000.
dev: install
	$(BIN)/dagster dev

## The dashboard on http://localhost:8501 (after `make run`): it reads the
## serving copy the pipeline publishes (docs/dashboard.md, docs/serving.md).
dashboard: install
	$(BIN)/streamlit run dashboard/app.py --server.headless true --server.port 8501 \
		--browser.gatherUsageStats false

## Headline metrics by month from the semantic layer (after `make run`).
metrics: install
	DBT_PROFILES_DIR=$(CURDIR) $(BIN)/dbt parse --quiet
	DBT_PROFILES_DIR=$(CURDIR) $(BIN)/mf query \
		--metrics mrr,grr,nrr,logo_churn_rate,gross_revenue_churn_rate,net_revenue_churn_rate \
		--group-by metric_time__month --order metric_time__month

## Scale benchmark, not part of `make test`: BENCH_TIERS=small,medium,large picks tiers.
## Writes benchmarks/results.json and results.md (docs/benchmarks.md explains them).
BENCH_TIERS ?= small,medium
bench: install
	HUBSPOT_ACCESS_TOKEN= $(BIN)/python -m orchestration.bench --tiers $(BENCH_TIERS)

clean:
	rm -rf data target logs $(VENV)
