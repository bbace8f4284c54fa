"""Each page rendered with Streamlit's app-testing API, its numbers checked against SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

PAGES = ["portfolio", "at_risk", "account_360", "retention", "onboarding", "playbooks",
         "data_health"]
BANDS = ["green", "yellow", "red"]


def metric_values(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def table_with(app, *columns: str):
    """The first table shown whose columns include ``columns`` (read-only tables carry no key)."""
    for frame in app.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


def assert_no_exception(app) -> None:
    assert not app.exception, [exception.value for exception in app.exception]


def band_counts(serving_sql, segment: str | None = None) -> dict[str, int]:
    rows = serving_sql(
        """
        select health_band, count(*)
        from marts.fct_account_health_daily
        where date_day = (select max(date_day) from marts.fct_account_health_daily)
            and (? is null or segment = ?)
        group by health_band
        """,
        [segment, segment],
    )
    counts = dict.fromkeys(BANDS, 0)
    counts.update({band: count for band, count in rows})
    return counts


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_an_exception(serving_copy, open_page, page):
    app = open_page(page)
    assert_no_exception(app)
    assert app.title, f"{page} shows no title"
    # Every number names the mart it comes from.
    assert any("Source: `" in caption.value for caption in app.caption), page


def test_portfolio_band_counts_equal_the_latest_day_in_the_mart(
    serving_copy, serving_sql, open_page
):
    metrics = metric_values(open_page("portfolio"))
    expected = band_counts(serving_sql)
    shown = {band: int(metrics[f"{band.capitalize()} accounts"]) for band in BANDS}
    assert shown == expected
    assert int(metrics["Scored accounts"]) == sum(expected.values())


def test_portfolio_mrr_is_the_sum_of_the_latest_health_month(
    serving_copy, serving_sql, open_page
):
    [(month, mrr)] = serving_sql(
        """
        select month_start_date, sum(mrr)
        from marts.fct_account_mrr_monthly
        where month_start_date = (
            select date_trunc('month', max(date_day)) from marts.fct_account_health_daily
        )
        group by month_start_date
        """
    )
    app = open_page("portfolio")
    metrics = metric_values(app)
    assert metrics[f"MRR {month:%b %Y}"] == f"${float(mrr):,.0f}"
    # The change since the month before, signed first so a fall shows as one.
    [(before,)] = serving_sql(
        f"select sum(mrr) from marts.fct_account_mrr_monthly "
        f"where month_start_date = date '{month:%Y-%m-%d}' - interval 1 month"
    )
    change = float(mrr) - float(before)
    [delta] = [m.delta for m in app.metric if m.label == f"MRR {month:%b %Y}"]
    assert delta == f"{'-' if change < 0 else ''}${abs(change):,.0f}"


def test_the_segment_filter_changes_the_band_counts(serving_copy, serving_sql, open_page):
    app = open_page("portfolio")
    unfiltered = int(metric_values(app)["Scored accounts"])
    [(segment,)] = serving_sql(
        "select segment from marts.dim_accounts group by segment order by count(*) limit 1"
    )
    app.multiselect(key="filter_segments").set_value([segment]).run()
    assert_no_exception(app)
    metrics = metric_values(app)
    expected = band_counts(serving_sql, segment)
    assert {band: int(metrics[f"{band.capitalize()} accounts"]) for band in BANDS} == expected
    assert int(metrics["Scored accounts"]) < unfiltered


def test_the_owner_filter_narrows_the_at_risk_list(serving_copy, serving_sql, open_page):
    app = open_page("at_risk")
    everyone = table_with(app, "mrr_at_risk")
    owner = everyone["owner_name"].iloc[0]
    app.multiselect(key="filter_owners").set_value([owner]).run()
    assert_no_exception(app)
    mine = table_with(app, "mrr_at_risk")
    assert set(mine["owner_name"]) == {owner}
    assert len(mine) == (everyone["owner_name"] == owner).sum() < len(everyone)


def test_at_risk_ranks_red_and_yellow_accounts_by_mrr(serving_copy, serving_sql, open_page):
    table = table_with(open_page("at_risk"), "mrr_at_risk")
    expected = serving_sql(
        """
        select account_id, mrr
        from sync.crm_company_sync
        where health_band in ('red', 'yellow')
        order by mrr desc
        """
    )
    assert len(table) == len(expected)
    assert set(table["health_band"]) <= {"red", "yellow"}
    assert float(table["mrr_at_risk"].iloc[0]) == float(expected[0][1])
    assert list(table["mrr_at_risk"]) == sorted(table["mrr_at_risk"], reverse=True)
    assert table[["health_reason", "owner_name"]].notna().all().all()


def test_account_360_shows_the_accounts_latest_score_and_its_components(
    serving_copy, serving_sql, open_page
):
    # The account with the lowest score on the last day: its components vary most.
    [(account_id, score, band)] = serving_sql(
        """
        select account_id, health_score, health_band
        from marts.fct_account_health_daily
        where date_day = (select max(date_day) from marts.fct_account_health_daily)
        order by health_score, account_id
        limit 1
        """
    )
    app = open_page("account_360")
    app.selectbox(key="account_360_account").set_value(account_id).run()
    assert_no_exception(app)
    metrics = metric_values(app)
    assert metrics["Health score"] == f"{score:.1f}"
    assert metrics["Band"] == band
    components = table_with(app, "component", "contribution")
    assert len(components) == 7
    assert components["contribution"].sum() == pytest.approx(score, abs=0.1)
    # The threshold bands behind each component with data are shown beside it.
    assert components.loc[components["points"].notna(), "thresholds (value: points)"].all()


def test_retention_bridge_shows_each_segments_movements(serving_copy, serving_sql, open_page):
    expected = serving_sql(
        """
        select segment, ending_mrr
        from marts.fct_mrr_movements_monthly
        where month_start_date = (select max(month_start_date) from marts.fct_mrr_movements_monthly)
        order by segment
        """
    )
    table = table_with(open_page("retention"), "ending_mrr")
    assert [(segment, float(row["ending_mrr"])) for segment, row in table.iterrows()] == [
        (segment, float(ending)) for segment, ending in expected
    ]


def test_onboarding_funnel_counts_the_contracts_started_in_the_date_range(
    serving_copy, serving_sql, open_page
):
    app = open_page("onboarding")
    start, end = app.date_input(key="filter_dates").value
    [(started, first_value)] = serving_sql(
        """
        select count(*), count(first_value_date)
        from marts.fct_account_journey
        where contract_start_date between ? and ?
        """,
        [start, end],
    )
    funnel = table_with(app, "gate", "accounts").set_index("gate")["accounts"]
    assert (funnel["contract started"], funnel["first value"]) == (started, first_value)


def test_playbooks_queue_counts_the_open_tasks(serving_copy, serving_sql, open_page):
    [(open_tasks,)] = serving_sql(
        "select count(*) from marts.fct_playbook_tasks where status = 'open'"
    )
    app = open_page("playbooks")
    assert int(metric_values(app)["Open tasks"]) == open_tasks
    assert table_with(app, "total")["total"].sum() == open_tasks


def test_data_health_shows_freshness_and_crm_runs(serving_copy, serving_sql, open_page):
    app = open_page("data_health")
    metrics = metric_values(app)
    for status, count in serving_sql(
        "select freshness_status, count(*) from marts.fct_source_health group by all"
    ):
        assert int(metrics[f"Tables {status}"]) == count
    [(runs,)] = serving_sql("select count(*) from crm_sync.sync_runs")
    assert len(table_with(app, "run_id", "rows_in")) == runs > 0
    # What the serving copy does not hold is said, not hidden.
    assert any("not in it" in info.value for info in app.info)


@pytest.mark.parametrize("page", PAGES)
def test_a_missing_serving_file_shows_a_plain_message(tmp_path, monkeypatch, open_page, page):
    missing = tmp_path / "not_published.duckdb"
    monkeypatch.setenv("CS_SERVING_PATH", str(missing))
    app = open_page(page)
    assert_no_exception(app)
    assert any(f"No serving copy at {missing}" in info.value for info in app.info), page


@pytest.fixture
def sparse_copy(built_warehouse, tmp_path, monkeypatch) -> Path:
    """A serving copy with the accounts, no health rows, and none of the other tables."""
    path = tmp_path / "sparse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"attach '{built_warehouse.duckdb_path}' as built (read_only)")
        con.execute("create schema marts")
        con.execute("create table marts.dim_accounts as select * from built.marts.dim_accounts")
        con.execute(
            "create table marts.fct_account_health_daily as "
            "select * from built.marts.fct_account_health_daily limit 0"
        )
    monkeypatch.setenv("CS_SERVING_PATH", str(path))
    return path


@pytest.mark.parametrize("page", PAGES)
def test_missing_tables_and_empty_marts_show_plain_messages(sparse_copy, open_page, page):
    app = open_page(page)
    assert_no_exception(app)
    messages = [info.value for info in app.info]
    assert messages, page
    assert all("Traceback" not in message for message in messages)


def test_a_republished_copy_is_read_on_the_next_rerun(
    built_warehouse, tmp_path, monkeypatch, open_page
):
    path = tmp_path / "serving.duckdb"
    monkeypatch.setenv("CS_SERVING_PATH", str(path))
    path.write_bytes(built_warehouse.duckdb_path.read_bytes())
    app = open_page("playbooks")
    before = int(metric_values(app)["Open tasks"])

    # Publish a copy with one open task closed, swapped in by a rename as the pipeline does.
    staged = tmp_path / "serving.next.duckdb"
    staged.write_bytes(path.read_bytes())
    with duckdb.connect(str(staged)) as con:
        con.execute(
            """
            update marts.fct_playbook_tasks
            set status = 'closed', closed_date = ?
            where task_key = (
                select min(task_key) from marts.fct_playbook_tasks where status = 'open'
            )
            """,
            [dt.date(2026, 6, 30)],
        )
    staged.replace(path)
    app.run()
    assert int(metric_values(app)["Open tasks"]) == before - 1
