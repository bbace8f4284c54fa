"""Data health: source freshness, loads and quarantined rows, checks, CRM sync runs."""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui

SOURCE_HEALTH = "marts.fct_source_health"
LOAD_AUDIT = "loader.load_audit"
QUARANTINE = "loader.quarantine"
DICTIONARY = "marts.data_dictionary"
SYNC_RUNS = "crm_sync.sync_runs"
SYNC_REJECTIONS = "crm_sync.sync_rejections"
# Where the Great Expectations results are, relative to the warehouse (docs/data_quality.md).
GX_DATA_DOCS = "data/gx/gx/uncommitted/data_docs/local_site/index.html"

# Rejections listed at most; the full history stays in the table.
REJECTIONS_SHOWN = 200

st.title("Data health")
st.caption("The whole warehouse: the segment, owner and date filters do not apply here.")

with ui.section("Source freshness"):
    freshness = data.read(
        f"""
        select source_name, table_name, freshness_status, last_loaded_at,
            hours_since_last_load, warn_after_hours, error_after_hours, row_count,
            files_loaded, files_failed, rows_quarantined
        from {SOURCE_HEALTH}
        order by
            case freshness_status when 'error' then 0 when 'warn' then 1 else 2 end,
            source_name, table_name
        """
    )
    data.require_rows(freshness, "source tables")
    statuses = freshness["freshness_status"].value_counts()
    columns = st.columns(len(statuses))
    for column, (status, count) in zip(columns, statuses.items(), strict=True):
        column.metric(
            f"Tables {status}", int(count), help=f"freshness_status = {status} ({SOURCE_HEALTH})."
        )
    st.dataframe(freshness, hide_index=True)
    st.caption(
        ui.source(SOURCE_HEALTH) + ": hours since each raw table's newest load at the end of "
        "the as-of day, against its window from the sources YAML."
    )

with ui.section("Loads"):
    loads = data.read(
        f"""
        select source, table_name, count(*) as files,
            count(*) filter (where status <> 'loaded') as files_not_loaded,
            sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined,
            max(finished_at) as last_finished_at,
            arg_max(error, finished_at) filter (where error is not null) as last_error
        from {LOAD_AUDIT}
        group by all
        order by rows_quarantined desc, source, table_name
        """
    )
    data.require_rows(loads, "loads")
    st.dataframe(loads, hide_index=True)
    st.caption(ui.source(LOAD_AUDIT) + ": every landing file the loader read, by table.")

with ui.section("Quarantined rows"):
    quarantine = data.read(
        f"""
        select source, table_name, reason, count(*) as quarantined_rows,
            max(quarantined_at) as last_quarantined_at, any_value(file_path) as example_file
        from {QUARANTINE}
        group by all
        order by quarantined_rows desc
        """
    )
    data.require_rows(quarantine, "quarantined rows")
    st.dataframe(quarantine, hide_index=True)
    st.caption(
        ui.source(QUARANTINE) + ": rows the loader set aside, by reason; the raw records are "
        "in the table."
    )

with ui.section("Checks"):
    tests = data.read(
        f"""
        select model_name, layer, count(*) as columns,
            count(*) filter (where tests_applied is not null and tests_applied <> '')
                as columns_tested,
            bool_and(is_contract_enforced) as is_contract_enforced,
            any_value(model_owner) as model_owner
        from {DICTIONARY}
        group by all
        order by layer, model_name
        """
    )
    data.require_rows(tests, "models in the data dictionary")
    st.dataframe(tests, hide_index=True)
    st.caption(
        ui.source(DICTIONARY) + ": the tests declared on each mart and sync model and "
        "whether its contract is enforced."
    )
    st.info(
        "Freshness is the only check whose result the serving copy holds (above). "
        "dbt test and Great Expectations results are not in it: they are Dagster asset "
        "checks, shown in the Dagster UI (`make dev`), and the expectations' results are "
        f"in GX Data Docs, `{GX_DATA_DOCS}` beside the warehouse."
    )

with ui.section("CRM sync runs"):
    runs = data.read(
        f"""
        select run_id, object_type, mode, status, started_at, finished_at, rows_in, added,
            changed, unchanged, rejected, skipped, requests, readback_checked,
            readback_mismatches, error
        from {SYNC_RUNS}
        order by started_at desc
        """
    )
    data.require_rows(runs, "CRM sync runs")
    latest = runs.groupby("object_type").head(1)
    columns = st.columns(len(latest))
    for column, run in zip(columns, latest.itertuples(), strict=True):
        column.metric(
            f"Last {run.object_type} push",
            str(run.status),
            help=f"{run.rows_in} rows in, {run.added} added, {run.changed} changed, "
            f"{run.rejected} rejected, started {run.started_at} ({SYNC_RUNS}).",
        )
    st.dataframe(runs, hide_index=True)
    st.caption(ui.source(SYNC_RUNS) + ": every push to the CRM, newest first.")

with ui.section("CRM rejections"):
    rejections = data.read(
        f"""
        select rejected_at, object_type, record_id, operation, error, run_id
        from {SYNC_REJECTIONS}
        order by rejected_at desc
        limit {REJECTIONS_SHOWN}
        """
    )
    data.require_rows(rejections, "CRM rejections")
    st.dataframe(rejections, hide_index=True)
    st.caption(
        ui.source(SYNC_REJECTIONS) + f": the newest {REJECTIONS_SHOWN} records the CRM or the "
        "dry run refused, with the reason."
    )
