"""End to end: `streamlit run` serving the built warehouse, read in headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOT = PROJECT_DIR / "data" / "test" / "screenshots" / "portfolio.png"
CHROMIUM = "/usr/bin/chromium"
# Flags for a sandbox-less container with no network for the browser's own services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_SECONDS = 60
# Charts draw after the page's numbers; long enough for a cold query cache.
RENDER_MILLISECONDS = 60_000


def chromium_path() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"streamlit did not answer on {url} within {STARTUP_SECONDS} s")


@pytest.fixture
def dashboard_url(built_warehouse, tmp_path):
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
            "--server.headless", "true",
            "--server.port", str(port),
            "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false",
        ],
        cwd=PROJECT_DIR,
        env={**os.environ, "CS_SERVING_PATH": str(built_warehouse.duckdb_path)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_the_portfolio_page_shows_the_band_counts_in_a_browser(built_warehouse, dashboard_url):
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium at /usr/bin/chromium; `make test` installs it (apt chromium)")
    from playwright.sync_api import sync_playwright

    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        expected = dict(
            con.execute(
                """
                select health_band, count(*)
                from marts.fct_account_health_daily
                where date_day = (select max(date_day) from marts.fct_account_health_daily)
                group by health_band
                """
            ).fetchall()
        )

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(dashboard_url)
            page.get_by_text("Red accounts", exact=True).wait_for(timeout=RENDER_MILLISECONDS)
            # The band-mix chart is the page's last element: wait for it before the shot.
            page.locator("[data-testid='stVegaLiteChart']").last.wait_for(
                timeout=RENDER_MILLISECONDS
            )
            shown = {}
            for metric in page.locator("[data-testid='stMetric']").all():
                label = metric.locator("[data-testid='stMetricLabel']").inner_text().strip()
                value = metric.locator("[data-testid='stMetricValue']").inner_text().strip()
                shown[label] = value
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            errors = page.locator("[data-testid='stException']").count()
        finally:
            browser.close()

    for band in ("green", "yellow", "red"):
        label = f"{band.capitalize()} accounts"
        assert shown.get(label) == str(expected.get(band, 0)), (
            f"{label}: shown {shown.get(label)!r}, mart says {expected.get(band, 0)}; "
            f"screenshot {SCREENSHOT}"
        )
    assert errors == 0, f"the page shows an exception; screenshot {SCREENSHOT}"
