"""Load landing files into DuckDB raw tables, one schema per source.

Guarantees, each tested in ``tests/ingest``:

* **Idempotent.** A file is identified by its path under the landing folder
  and the SHA-256 of its bytes. A file already loaded with the same bytes is
  skipped; a file whose bytes changed replaces the rows it loaded before.
* **Atomic per file.** A file's rows, its quarantined rows and its audit row
  are written in one transaction: a crash half-way leaves nothing behind.
* **Nothing silently dropped.** A row that cannot be parsed (wrong number of
  fields, a value that does not cast to the contract's type, an empty primary
  key) goes to ``loader.quarantine`` with the file, line and reason; the rest
  of the file loads.
* **Loud on broken files.** A file that cannot be read at all, or lacks a
  column the contract requires, raises ``LandingFileError`` naming the file and
  the column; other files still load.
* **Schema drift accepted.** Columns not in the contract are kept as text.

All parsing runs inside DuckDB (``read_csv`` and ``try_cast``), never in a
Python loop over rows, so the same code serves a hundred million events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.ingest.contracts import SourceContract, TableContract

LOADER_SCHEMA = "loader"
AUDIT_TABLE = f"{LOADER_SCHEMA}.load_audit"
QUARANTINE_TABLE = f"{LOADER_SCHEMA}.quarantine"

# Columns the loader adds to every raw table, so any raw row can be traced
# back to the file and line it came from.
LINEAGE_COLUMNS = {
    "_loaded_file": "varchar",
    "_loaded_line": "bigint",
    "_loaded_at": "timestamp",
}

LANDING_SUFFIXES = (".csv", ".csv.gz")


class LandingFileError(Exception):
    """A landing file that cannot be loaded at all; the message names it."""


@dataclass
class FileLoadResult:
    source: str
    table: str
    file: str
    status: str  # loaded, unchanged or failed
    rows_loaded: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class SourceLoadReport:
    source: str
    files: list[FileLoadResult] = field(default_factory=list)

    def rows_loaded(self, table: str | None = None) -> int:
        return sum(f.rows_loaded for f in self.files if table in (None, f.table))

    def rows_quarantined(self, table: str | None = None) -> int:
        return sum(f.rows_quarantined for f in self.files if table in (None, f.table))

    @property
    def failures(self) -> list[FileLoadResult]:
        return [f for f in self.files if f.status == "failed"]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_files(landing_dir: Path, source: str, table: str) -> list[Path]:
    """Files for one raw table, in name order; names starting with _ are ignored."""
    folder = landing_dir / source / table
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(("_", ".")) and p.name.endswith(LANDING_SUFFIXES)
    )


def ensure_loader_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {LOADER_SCHEMA}")
    con.execute(
        f"""
        create table if not exists {AUDIT_TABLE} (
            source varchar not null,
            table_name varchar not null,
            file_path varchar not null,
            file_sha256 varchar,
            status varchar not null,
            rows_loaded bigint not null,
            rows_quarantined bigint not null,
            started_at timestamp not null,
            finished_at timestamp not null,
            error varchar
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {QUARANTINE_TABLE} (
            source varchar not null,
            table_name varchar not null,
            file_path varchar not null,
            line_number bigint,
            reason varchar not null,
            raw_record varchar,
            quarantined_at timestamp not null
        )
        """
    )


def _csv_reader(path: Path, **extra: str) -> str:
    options = {
        "header": "true",
        "all_varchar": "true",
        "delim": "','",
        "quote": "'\"'",
        "escape": "'\"'",
        **extra,
    }
    rendered = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"read_csv({_literal(str(path))}, {rendered})"


def read_header(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Column names of a landing file; a file DuckDB cannot read raises."""
    try:
        # Malformed rows must not stop the header from being read; the full
        # read quarantines them.
        relation = con.sql(f"select * from {_csv_reader(path, ignore_errors='true')} limit 0")
        return list(relation.columns)
    except duckdb.Error as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        detail = " ".join(lines[:2])
        raise LandingFileError(f"{path}: file cannot be read as CSV: {detail}") from exc


def check_header(contract: TableContract, path: Path, header: list[str]) -> None:
    missing = [c for c in contract.required_columns if c not in header]
    if missing:
        listed = ", ".join(repr(c) for c in missing)
        raise LandingFileError(
            f"{path}: missing required column(s) {listed} for raw table "
            f"{contract.qualified_name} (found: {', '.join(header)})"
        )


def _typed_expression(column: str, data_type: str) -> str:
    """Cast one text column to its contract type; unparseable values become null.

    Timestamps go through ``timestamptz`` so an explicit offset is honoured and
    every value lands in UTC (the connection runs with TimeZone=UTC).
    """
    text = f"nullif(trim({_quote(column)}), '')"
    if data_type == "timestamp":
        return f"try_cast(try_cast({text} as timestamptz) as timestamp)"
    if data_type == "varchar":
        return f"nullif({_quote(column)}, '')"
    return f"try_cast({text} as {data_type})"


def _ensure_raw_table(
    con: duckdb.DuckDBPyConnection, contract: TableContract, header: list[str]
) -> None:
    schema, table = _quote(contract.source), _quote(contract.table)
    con.execute(f"create schema if not exists {schema}")
    columns = [f"{_quote(c.name)} {c.data_type}" for c in contract.columns]
    columns += [f"{_quote(n)} {t}" for n, t in LINEAGE_COLUMNS.items()]
    con.execute(f"create table if not exists {schema}.{table} ({', '.join(columns)})")
    # Schema drift: a column the contract does not know is kept as text.
    known = {c.name for c in contract.columns} | set(LINEAGE_COLUMNS)
    for name in header:
        if name not in known:
            con.execute(
                f"alter table {schema}.{table} add column if not exists {_quote(name)} varchar"
            )


def _stage_file(
    con: duckdb.DuckDBPyConnection, contract: TableContract, path: Path, header: list[str]
) -> None:
    """Read the file into temp table ``_stage``: text values, typed values, line, reason."""
    con.execute("drop table if exists _stage_text")
    con.execute("drop table if exists _stage")
    con.execute("drop table if exists _rejects")
    con.execute("drop table if exists _rejects_scan")
    reader = _csv_reader(
        path, store_rejects="true", rejects_table="'_rejects'", rejects_scan="'_rejects_scan'"
    )
    # row_number() over the scan keeps file order (insertion order is preserved).
    con.execute(
        f"create temp table _stage_text as "
        f"select row_number() over () as _record_index, * from {reader}"
    )

    # A rejected line (wrong number of fields) is not in _stage_text; map each
    # kept record back to its physical line by counting rejects before it.
    # With the header on line 1, the j-th rejected line r_j has r_j - j - 1
    # kept records before it.
    con.execute(
        """
        create temp table _reject_offsets as
        select line - row_number() over (order by line) - 1 as records_before,
               row_number() over (order by line) as rejects_so_far
        from (select distinct line from _rejects)
        """
    )

    present = [c for c in contract.columns if c.name in header]
    typed = [
        f"{_typed_expression(c.name, c.data_type)} as {_quote(c.name)}" for c in present
    ]
    failures = []
    for c in present:
        if c.data_type == "varchar":
            continue
        failures.append(
            f"case when nullif(trim(t.{_quote(c.name)}), '') is not null "
            f"and {_typed_expression(c.name, c.data_type)} is null "
            f"then 'column {c.name}: cannot parse \"' || t.{_quote(c.name)} "
            f"|| '\" as {c.data_type}' end"
        )
    for key in contract.primary_key:
        if key in header:
            failures.append(
                f"case when nullif(trim(t.{_quote(key)}), '') is null "
                f"then 'column {key}: primary key is empty' end"
            )
    reason = f"nullif(concat_ws('; ', {', '.join(failures)}), '')" if failures else "null"
    extras = [_quote(n) for n in header if n not in {c.name for c in contract.columns}]
    con.execute(
        f"""
        create temp table _stage as
        select
            t._record_index
                + 1
                + coalesce(r.rejects_so_far, 0) as _loaded_line,
            {reason} as _reason,
            -- The record as it arrived, without the loader's own index.
            json_merge_patch(to_json(t), '{{"_record_index": null}}') as _raw_record,
            {', '.join(typed + extras)}
        from _stage_text as t
        asof left join _reject_offsets as r
            on t._record_index > r.records_before
        """
    )
    con.execute("drop table _reject_offsets")
    con.execute("drop table _stage_text")


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, contract: TableContract, rel_path: str, loaded_at: dt.datetime
) -> int:
    params = [contract.source, contract.table, rel_path, loaded_at]
    con.execute(
        f"""
        insert into {QUARANTINE_TABLE}
        select ?, ?, ?, _loaded_line, _reason, _raw_record, ?
        from _stage where _reason is not null
        """,
        params,
    )
    con.execute(
        f"""
        insert into {QUARANTINE_TABLE}
        select ?, ?, ?, line, error_type || ': ' || error_message, csv_line, ?
        from _rejects
        """,
        params,
    )
    (count,) = con.execute(
        "select (select count(*) from _stage where _reason is not null)"
        " + (select count(distinct line) from _rejects)"
    ).fetchone()
    return int(count)


def _insert_rows(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    header: list[str],
    rel_path: str,
    loaded_at: dt.datetime,
) -> int:
    known = {c.name for c in contract.columns}
    columns = [c.name for c in contract.columns if c.name in header]
    columns += [n for n in header if n not in known]
    target = ", ".join(_quote(c) for c in columns + list(LINEAGE_COLUMNS))
    values = ", ".join(_quote(c) for c in columns)
    (count,) = con.execute(
        f"""
        insert into {_quote(contract.source)}.{_quote(contract.table)} ({target})
        select {values}, ?, _loaded_line, ?
        from _stage where _reason is null
        """,
        [rel_path, loaded_at],
    ).fetchone()
    return int(count)


def _already_loaded(
    con: duckdb.DuckDBPyConnection, contract: TableContract, rel_path: str, sha: str
) -> bool:
    row = con.execute(
        f"""
        select file_sha256 from {AUDIT_TABLE}
        where source = ? and table_name = ? and file_path = ? and status = 'loaded'
        order by finished_at desc limit 1
        """,
        [contract.source, contract.table, rel_path],
    ).fetchone()
    return row is not None and row[0] == sha


def _audit(
    con: duckdb.DuckDBPyConnection,
    result: FileLoadResult,
    sha: str | None,
    started_at: dt.datetime,
) -> None:
    con.execute(
        f"insert into {AUDIT_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.source,
            result.table,
            result.file,
            sha,
            result.status,
            result.rows_loaded,
            result.rows_quarantined,
            started_at,
            _utcnow(),
            result.error,
        ],
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def load_file(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    path: Path,
    landing_dir: Path,
) -> FileLoadResult:
    """Load one landing file in one transaction; see the module docstring."""
    rel_path = path.relative_to(landing_dir).as_posix()
    started_at, clock = _utcnow(), time.perf_counter()
    result = FileLoadResult(contract.source, contract.table, rel_path, status="loaded")

    con.execute("set TimeZone = 'UTC'")
    ensure_loader_tables(con)
    sha = file_fingerprint(path)
    if _already_loaded(con, contract, rel_path, sha):
        result.status = "unchanged"
        return result

    header = read_header(con, path)
    check_header(contract, path, header)

    con.execute("begin transaction")
    try:
        _ensure_raw_table(con, contract, header)
        # A changed file replaces whatever its earlier version loaded.
        con.execute(
            f"delete from {_quote(contract.source)}.{_quote(contract.table)} "
            "where _loaded_file = ?",
            [rel_path],
        )
        con.execute(
            f"delete from {QUARANTINE_TABLE} where source = ? and table_name = ? and file_path = ?",
            [contract.source, contract.table, rel_path],
        )
        _stage_file(con, contract, path, header)
        result.rows_quarantined = _insert_quarantine(con, contract, rel_path, started_at)
        result.rows_loaded = _insert_rows(con, contract, header, rel_path, started_at)
        result.seconds = time.perf_counter() - clock
        _audit(con, result, sha, started_at)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        for temp in ("_stage", "_rejects", "_rejects_scan"):
            con.execute(f"drop table if exists {temp}")
    return result


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: SourceContract,
    landing_dir: Path,
    tables: Iterable[str] | None = None,
    on_file: Callable[[FileLoadResult], None] | None = None,
) -> SourceLoadReport:
    """Load every landing file of a source; broken files are reported, not fatal.

    The caller decides what a failure means (the Dagster asset fails after the
    rest has loaded); ``report.failures`` carries each broken file's message.
    """
    ensure_loader_tables(con)
    wanted = set(tables) if tables is not None else None
    report = SourceLoadReport(source.name)
    for contract in source.tables:
        if wanted is not None and contract.table not in wanted:
            continue
        files = landing_files(landing_dir, source.name, contract.table)
        # The raw table exists even when no file loads, so dbt can still build.
        _ensure_raw_table(con, contract, [])
        for path in files:
            try:
                result = load_file(con, contract, path, landing_dir)
            except LandingFileError as exc:
                result = FileLoadResult(
                    source.name,
                    contract.table,
                    path.relative_to(landing_dir).as_posix(),
                    status="failed",
                    error=str(exc),
                )
                _audit(con, result, None, _utcnow())
            report.files.append(result)
            if on_file is not None:
                on_file(result)
    return report
