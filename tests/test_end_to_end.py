"""One materialization of every asset against a temporary DuckDB file."""

from __future__ import annotations

from orchestration.ingest.contracts import load_contracts


def test_every_asset_materializes_and_every_check_passes(built_warehouse):
    result = built_warehouse.result
    assert result.success
    failed = [
        f"{c.asset_key.to_user_string()}:{c.check_name}"
        for c in result.get_asset_check_evaluations()
        if not c.passed and c.severity.value == "ERROR"
    ]
    assert failed == []


def test_every_raw_table_is_loaded(built_warehouse):
    empty = []
    for source in load_contracts().values():
        for table in source.tables:
            (count,) = built_warehouse.query(
                f'select count(*) from "{source.name}"."{table.table}"'
            )[0]
            if count == 0:
                empty.append(table.qualified_name)
    assert empty == []


def test_staging_drops_duplicates_the_raw_layer_keeps(built_warehouse):
    [(raw, distinct_raw)] = built_warehouse.query(
        "select count(*), count(distinct id) from segment.tracks"
    )
    [(staged,)] = built_warehouse.query("select count(*) from staging.stg_segment__tracks")
    assert raw > distinct_raw, "the demo data should carry duplicate events"
    assert staged == distinct_raw


def test_malformed_rows_are_quarantined_not_lost(built_warehouse):
    [(quarantined,)] = built_warehouse.query(
        "select count(*) from loader.quarantine where source = 'segment'"
    )
    assert quarantined > 0
    [(audited,)] = built_warehouse.query(
        "select sum(rows_quarantined) from loader.load_audit where source = 'segment'"
    )
    assert audited == quarantined
