"""Fixtures of the dashboard tests: the session's built warehouse as the serving copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

PROJECT_DIR = Path(__file__).resolve().parents[2]
APP = PROJECT_DIR / "dashboard" / "app.py"
# A page's first render runs a dozen queries against a file no cache has seen.
RENDER_TIMEOUT_SECONDS = 60


@pytest.fixture
def serving_copy(built_warehouse, monkeypatch) -> Path:
    """The built warehouse read as the serving copy: it has the same schema.table names."""
    monkeypatch.setenv("CS_SERVING_PATH", str(built_warehouse.duckdb_path))
    return built_warehouse.duckdb_path


@pytest.fixture
def serving_sql(serving_copy) -> Callable[..., list[tuple]]:
    """Rows of a query on the serving copy, computed apart from the dashboard's code."""

    def run(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(serving_copy), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return run


@pytest.fixture
def open_page() -> Callable[[str], AppTest]:
    """The app rendered on one page (``portfolio``, ``at_risk``, …) with default filters."""

    def render(page: str) -> AppTest:
        app = AppTest.from_file(str(APP), default_timeout=RENDER_TIMEOUT_SECONDS).run()
        if page != "portfolio":
            app.switch_page(f"views/{page}.py").run()
        return app

    return render
