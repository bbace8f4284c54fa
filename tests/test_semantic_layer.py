"""MetricFlow answers by name, and agrees with the marts it reads."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_DIR

MF = Path(sys.executable).parent / "mf"


def _mf(built_warehouse, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "CS_DUCKDB_PATH": str(built_warehouse.duckdb_path),
    }
    return subprocess.run(
        [str(MF), *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def monthly_metrics(built_warehouse, tmp_path_factory) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("mf") / "metrics.csv"
    completed = _mf(
        built_warehouse,
        "query",
        "--metrics",
        "mrr,logo_churn_rate,grr,nrr",
        "--group-by",
        "metric_time__month",
        "--order",
        "metric_time__month",
        "--csv",
        str(out),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with out.open() as handle:
        return list(csv.DictReader(handle))


def test_semantic_layer_validates_against_the_warehouse(built_warehouse):
    completed = _mf(built_warehouse, "validate-configs")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ERRORS: 0" in completed.stdout


def test_mrr_metric_matches_the_account_mart(built_warehouse, monthly_metrics):
    expected = dict(
        built_warehouse.query(
            "select strftime(month_start_date, '%Y-%m'), sum(mrr) "
            "from marts.fct_account_mrr_monthly group by 1"
        )
    )
    assert len(monthly_metrics) == len(expected)
    for row in monthly_metrics:
        month = row["metric_time__month"][:7]
        assert float(row["mrr"]) == pytest.approx(float(expected[month]), abs=0.01)


def test_retention_metrics_are_rates(monthly_metrics):
    with_trailing = [r for r in monthly_metrics if r["grr"]]
    assert with_trailing, "12 months of history should give trailing GRR"
    for row in with_trailing:
        assert 0 <= float(row["grr"]) <= 1
        assert float(row["nrr"]) >= float(row["grr"]) - 1e-9
