"""The same dbt project on DuckDB and on Apache Spark, mart for mart.

``python -m orchestration.cross_engine`` (what ``make test-spark`` runs
through ``tests/spark``) generates a small demo dataset, loads it with the
project's loader into DuckDB, builds every model there, exports the raw
tables the loader wrote to Parquet, builds every model again on Spark in
local mode (the ``spark`` target of profiles.yml) and compares every mart and
sync table of the two engines row for row. docs/portability.md explains the
set-up and docs/decisions.md why Spark reads the loader's output rather than
the landing files.

Both engines read the same raw rows: the loader's typing, deduplication and
quarantine rules run once, in Python and DuckDB, so a difference found here
comes from the models, not from two readers of the landing files.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")
# Layers whose tables are compared: what BI tools and the CRM sync read.
COMPARED_LAYERS = ("marts", "sync")
# Numbers are compared after rounding to this many decimals, then, for rows
# that still differ, within ABSOLUTE_TOLERANCE: the engines' decimal
# arithmetic keeps different scales and their doubles may differ in the last
# bits, which is not a difference in the data.
ROUND_DECIMALS = 6
ABSOLUTE_TOLERANCE = 1e-6

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TableDifference:
    """How one table differs between the engines."""

    relation: str
    duckdb_rows: int
    spark_rows: int
    only_in_duckdb: int = 0
    only_in_spark: int = 0
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    example: str = ""

    def describe(self) -> str:
        parts = [f"{self.relation}: {self.duckdb_rows} rows on DuckDB, {self.spark_rows} on Spark"]
        if self.missing_columns:
            parts.append(f"columns missing on Spark {list(self.missing_columns)}")
        if self.extra_columns:
            parts.append(f"columns only on Spark {list(self.extra_columns)}")
        if self.only_in_duckdb or self.only_in_spark:
            parts.append(
                f"{self.only_in_duckdb} rows only on DuckDB, {self.only_in_spark} only on Spark"
            )
        if self.example:
            parts.append(f"for example {self.example}")
        return "; ".join(parts)


def load_manifest(target_dir: Path) -> dict[str, Any]:
    return json.loads((target_dir / "manifest.json").read_text())


def source_relations(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(schema, table) of every dbt source, in a stable order."""
    return sorted(
        {(node["schema"], node["identifier"]) for node in manifest["sources"].values()}
    )


def compared_relations(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(schema, table) of every mart and sync model."""
    return sorted(
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] in COMPARED_LAYERS
    )


def export_raw_to_parquet(
    duckdb_path: Path, manifest: dict[str, Any], out_dir: Path
) -> dict[str, int]:
    """Write every source table of the DuckDB warehouse to <out_dir>/<schema>/<table>/.

    Timestamps are written as instants in UTC (DuckDB's timestamp with time
    zone), which Spark reads as its own TIMESTAMP type; a plain DuckDB
    timestamp would arrive as Spark's TIMESTAMP_NTZ. Returns rows per table.
    """
    rows: dict[str, int] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for schema, table in source_relations(manifest):
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if not columns:
                raise RuntimeError(
                    f"source {schema}.{table} is declared in the dbt project but has no "
                    f"table in {duckdb_path}: load the raw data first"
                )
            select_list = ", ".join(
                f"cast({_q(name)} as timestamptz) as {_q(name)}"
                if data_type == "TIMESTAMP"
                else _q(name)
                for name, data_type in columns
            )
            folder = out_dir / schema / table
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.parquet"):
                old.unlink()
            con.execute(
                f"copy (select {select_list} from {_q(schema)}.{_q(table)}) "
                f"to '{folder / 'part-0.parquet'}' (format parquet)"
            )
            [(count,)] = con.execute(
                f"select count(*) from {_q(schema)}.{_q(table)}"
            ).fetchall()
            rows[f"{schema}.{table}"] = count
    return rows


def spark_table_folder(spark_dir: Path, schema: str, table: str) -> Path:
    """Where Spark keeps a managed table's Parquet files (spark.sql.warehouse.dir)."""
    return spark_dir / "warehouse" / f"{schema}.db" / table


def compare_engines(
    duckdb_path: Path, spark_dir: Path, manifest: dict[str, Any]
) -> tuple[list[str], list[TableDifference]]:
    """Compare every mart and sync table; (tables compared, differences)."""
    compared: list[str] = []
    differences: list[TableDifference] = []
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{duckdb_path}' as warehouse (read_only)")
        for schema, table in compared_relations(manifest):
            relation = f"{schema}.{table}"
            compared.append(relation)
            difference = _compare_table(
                con, relation, spark_table_folder(spark_dir, schema, table)
            )
            if difference is not None:
                differences.append(difference)
    return compared, differences


def _compare_table(
    con: duckdb.DuckDBPyConnection, relation: str, spark_folder: Path
) -> TableDifference | None:
    schema, table = relation.split(".")
    con.execute(
        f"create or replace temp view duck_side as select * from warehouse.{_q(schema)}.{_q(table)}"
    )
    [(duck_rows,)] = con.execute("select count(*) from duck_side").fetchall()
    files = sorted(spark_folder.glob("*.parquet")) if spark_folder.is_dir() else []
    if not spark_folder.is_dir():
        return TableDifference(relation, duck_rows, 0, example=f"no Spark table at {spark_folder}")
    if not files:
        # Spark writes no file for an empty result.
        return None if duck_rows == 0 else TableDifference(relation, duck_rows, 0)
    file_list = ", ".join(f"'{f}'" for f in files)
    con.execute(
        f"create or replace temp view spark_side as select * from read_parquet([{file_list}])"
    )
    [(spark_rows,)] = con.execute("select count(*) from spark_side").fetchall()

    duck_types = _column_types(con, "duck_side")
    spark_types = _column_types(con, "spark_side")
    missing = tuple(c for c in duck_types if c not in spark_types)
    extra = tuple(c for c in spark_types if c not in duck_types)
    if missing or extra:
        return TableDifference(relation, duck_rows, spark_rows, missing_columns=missing,
                               extra_columns=extra)

    columns = list(duck_types)
    numeric = [c for c in columns if _is_numeric(duck_types[c]) or _is_numeric(spark_types[c])]
    duck_select = _normalised_select("duck_side", columns, duck_types, numeric)
    spark_select = _normalised_select("spark_side", columns, spark_types, numeric)
    only_duck = con.execute(f"{duck_select} except all {spark_select}").df()
    only_spark = con.execute(f"{spark_select} except all {duck_select}").df()
    if only_duck.empty and only_spark.empty:
        return None
    if _equal_within_tolerance(only_duck, only_spark, numeric):
        return None
    example = ""
    if not only_duck.empty:
        example = f"DuckDB row {only_duck.iloc[0].to_dict()}"
    if not only_spark.empty:
        example += f"{'; ' if example else ''}Spark row {only_spark.iloc[0].to_dict()}"
    return TableDifference(
        relation, duck_rows, spark_rows,
        only_in_duckdb=len(only_duck), only_in_spark=len(only_spark), example=example,
    )


def _column_types(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, str]:
    return {
        name.lower(): data_type
        for name, data_type, *_ in con.execute(f"describe {view}").fetchall()
    }


def _is_numeric(data_type: str) -> bool:
    upper = data_type.upper()
    return upper.startswith("DECIMAL") or upper in {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL",
        "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    }


def _normalised_select(
    view: str, columns: list[str], types: dict[str, str], numeric: list[str]
) -> str:
    """One comparable shape for both engines: numbers as rounded doubles, instants as UTC."""
    expressions = []
    for column in columns:
        quoted = _q(column)
        if column in numeric:
            expressions.append(f"round(cast({quoted} as double), {ROUND_DECIMALS}) as {quoted}")
        elif types[column].upper().startswith("TIMESTAMP"):
            expressions.append(f"cast({quoted} as timestamp) as {quoted}")
        else:
            expressions.append(quoted)
    return f"select {', '.join(expressions)} from {view}"


def _equal_within_tolerance(
    left: pd.DataFrame, right: pd.DataFrame, numeric: list[str]
) -> bool:
    """True when the rows left over on each side pair up with numbers within the tolerance.

    Rounding can put two nearly equal numbers on either side of a rounding
    step; such rows fail the exact comparison and are paired here, sorted by
    every column, numbers compared with the absolute tolerance.
    """
    if len(left) != len(right) or not numeric:
        return False
    order = list(left.columns)
    left = left.sort_values(order, na_position="last").reset_index(drop=True)
    right = right.sort_values(order, na_position="last").reset_index(drop=True)
    for column in order:
        a, b = left[column], right[column]
        if column in numeric:
            close = ((a - b).abs() <= ABSOLUTE_TOLERANCE) | (a.isna() & b.isna())
            if not bool(close.all()):
                return False
        elif not a.equals(b):
            return False
    return True


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# ---------------------------------------------------------------- the run


@dataclasses.dataclass
class CrossEngineRun:
    """Both builds of one generated dataset in a work folder of its own."""

    work_dir: Path
    accounts: int = 60
    months: int = 12
    seed: int = 7
    as_of_date: dt.date = dt.date(2026, 6, 30)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def landing_dir(self) -> Path:
        return self.work_dir / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.work_dir / "warehouse.duckdb"

    @property
    def spark_dir(self) -> Path:
        return self.work_dir / "spark"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CS_LANDING_DIR": str(self.landing_dir),
            "CS_DUCKDB_PATH": str(self.duckdb_path),
            "CS_AS_OF_DATE": self.as_of_date.isoformat(),
            "CS_DUCKDB_TEMP_DIR": str(self.work_dir / "duckdb_tmp"),
            "CS_SPARK_DIR": str(self.spark_dir),
            "CS_SPARK_RAW_DIR": str(self.spark_dir / "raw"),
        }

    def _timed(self, stage: str, started: float) -> None:
        self.timings[stage] = round(time.monotonic() - started, 1)
        logger.info("%s took %.1f s", stage, self.timings[stage])

    def generate_and_load(self) -> None:
        """Demo landing files through the project's loader into a fresh DuckDB file."""
        from orchestration.demo_data.generator import GeneratorConfig, generate
        from orchestration.ingest.contracts import load_contracts
        from orchestration.ingest.loader import load_source
        from orchestration.resources import connect_duckdb

        started = time.monotonic()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        generate(
            GeneratorConfig(
                seed=self.seed, accounts=self.accounts, months=self.months,
                as_of_date=self.as_of_date,
            ),
            self.landing_dir,
        )
        config = {
            "memory_limit": "4GB", "threads": "2",
            "temp_directory": str(self.work_dir / "duckdb_tmp"),
        }
        with connect_duckdb(self.duckdb_path, config) as con:
            for source in load_contracts().values():
                report = load_source(con, source, self.landing_dir)
                if report.failures:
                    raise RuntimeError(
                        f"loading {source.name} failed: "
                        + "; ".join(f.error or f.file for f in report.failures)
                    )
        self._timed("generate_and_load", started)

    def dbt_build(self, target: str) -> None:
        """`dbt build` on one target, with its own target and log folders."""
        started = time.monotonic()
        command = [
            str(DBT), "build", "--target", target,
            "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR),
            "--target-path", str(self.work_dir / f"target_{target}"),
            "--log-path", str(self.work_dir / f"logs_{target}"),
        ]
        # Spark leaves derby.log and friends in its working folder.
        done = subprocess.run(
            command, env=self.env(), cwd=self.work_dir, capture_output=True, text=True
        )
        if done.returncode != 0:
            failures = [
                line for line in done.stdout.splitlines()
                if " ERROR " in line or "FAIL " in line or "Error" in line
            ]
            raise RuntimeError(
                f"dbt build --target {target} failed (exit {done.returncode}); "
                f"log in {self.work_dir / f'logs_{target}'}:\n"
                + "\n".join(failures[-40:] or done.stdout.splitlines()[-40:])
            )
        self._timed(f"dbt_build_{target}", started)

    def export_raw(self) -> dict[str, int]:
        started = time.monotonic()
        rows = export_raw_to_parquet(
            self.duckdb_path, load_manifest(self.work_dir / "target_duckdb"),
            self.spark_dir / "raw",
        )
        self._timed("export_raw", started)
        return rows

    def compare(self) -> tuple[list[str], list[TableDifference]]:
        started = time.monotonic()
        result = compare_engines(
            self.duckdb_path, self.spark_dir, load_manifest(self.work_dir / "target_spark")
        )
        self._timed("compare", started)
        return result

    def run(self) -> tuple[list[str], list[TableDifference]]:
        self.generate_and_load()
        self.dbt_build("duckdb")
        self.export_raw()
        self.dbt_build("spark")
        return self.compare()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=PROJECT_DIR / "data" / "cross_engine")
    parser.add_argument("--accounts", type=int, default=60)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run = CrossEngineRun(args.work_dir, accounts=args.accounts)
    compared, differences = run.run()
    for difference in differences:
        logger.error("%s", difference.describe())
    logger.info(
        "%d tables compared, %d differ; timings %s", len(compared), len(differences), run.timings
    )
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
