"""Raw layer: one multi-asset per source loads its landing files into DuckDB.

Asset keys are ``[source, table]``, the keys dagster-dbt gives the matching
dbt sources, so the staging models hang off these assets in one graph.
"""


from pathlib import Path

import dagster as dg

from orchestration.ingest.contracts import SourceContract, load_contracts
from orchestration.ingest.loader import FileLoadResult, load_source
from orchestration.resources import WarehouseResource

RAW_GROUP = "raw"


def _table_spec(source: SourceContract, table) -> dg.AssetSpec:
    columns = dg.TableSchema(
        columns=[
            dg.TableColumn(name=c.name, type=c.data_type, description=c.description)
            for c in table.columns
        ]
    )
    return dg.AssetSpec(
        key=dg.AssetKey([source.name, table.table]),
        description=(
            f"Raw `{source.name}.{table.table}` loaded from "
            f"`<landing>/{source.name}/{table.table}/*.csv`. {table.description}"
        ),
        group_name=RAW_GROUP,
        kinds={"duckdb", "csv"},
        metadata={"dagster/column_schema": columns},
    )


def build_raw_source_asset(source: SourceContract) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"raw_{source.name}",
        specs=[_table_spec(source, t) for t in source.tables],
        description=f"Load the {source.name} landing files into the `{source.name}` schema.",
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        def log_file(result: FileLoadResult) -> None:
            if result.status == "failed":
                context.log.error(result.error)
            else:
                context.log.info(
                    f"{result.file}: {result.status}, {result.rows_loaded} rows loaded, "
                    f"{result.rows_quarantined} quarantined"
                )

        with warehouse.connect() as con:
            report = load_source(con, source, Path(warehouse.landing_dir), on_file=log_file)
            totals = {
                t.table: con.execute(
                    f'select count(*) from "{source.name}"."{t.table}"'
                ).fetchone()[0]
                for t in source.tables
            }

        for table in source.tables:
            files = [f for f in report.files if f.table == table.table]
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey([source.name, table.table]),
                metadata={
                    "files_seen": len(files),
                    "files_loaded": sum(f.status == "loaded" for f in files),
                    "files_failed": sum(f.status == "failed" for f in files),
                    "rows_loaded": report.rows_loaded(table.table),
                    "rows_quarantined": report.rows_quarantined(table.table),
                    "dagster/row_count": int(totals.get(table.table, 0)),
                },
            )

        # Every readable file has loaded by now; a broken one fails the asset
        # so nothing downstream builds on a partial source.
        if report.failures:
            raise dg.Failure(
                description="\n".join(f.error or f.file for f in report.failures),
                metadata={"failed_files": [f.file for f in report.failures]},
            )

    return _load


def build_raw_assets() -> list[dg.AssetsDefinition]:
    return [build_raw_source_asset(s) for s in load_contracts().values()]
