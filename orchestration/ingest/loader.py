"""Load landing files into DuckDB raw tables, one schema per source.

Guarantees, each tested in ``tests/ingest``:

* **Idempotent.** A file is identified by its path under the landing folder
  and the SHA-256 of its bytes. A file already loaded with the same bytes is
  skipped; a file whose bytes changed replaces the rows it loaded before.
* **Atomic.** A file's rows, its quarantined rows and its audit row
  are written in one transaction: a crash half-way leaves nothing behind.
  New Parquet files of a table share a transaction, up to
  ``PARQUET_BATCH_BYTES`` of them, which is what lets two years of daily
  event files load in minutes; a batch too commits whole or not at all.
* **Nothing silently dropped.** A row that cannot be parsed (wrong number of
  fields, a value that does not cast to the contract's type, an empty primary
  key) goes to ``loader.quarantine`` with the file, line and reason; the rest
  of the file loads. For a Parquet file the "line" is the row's number in the
  file, counting from 1.
* **Loud on broken files.** A file that cannot be read at all, or lacks a
  column the contract requires, raises ``LandingFileError`` naming the file and
  the column; other files still load.
* **Schema drift accepted.** Columns not in the contract are kept as text.

Landing files are CSV (``.csv``, ``.csv.gz``, every value text) or Parquet
(``.parquet``, typed columns allowed: a column whose Parquet type already
is, or casts to, the contract's type is taken as it is). A table's files sit
in its folder or in Hive-style partition folders below it
(``segment/tracks/event_date=2026-06-29/part-0000.parquet``); a partition's
files can be loaded on their own (``partitions=``). The folder names are not
turned into columns: the contract says what a row carries.

All parsing runs inside DuckDB (``read_csv``, ``read_parquet`` and
``try_cast``), never in a Python loop over rows, so the same code serves a
hundred million events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
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

LANDING_SUFFIXES = (".csv", ".csv.gz", ".parquet")
PARQUET_SUFFIX = ".parquet"
# New Parquet files of a table load together, up to this many bytes per
# transaction (about 8 million events of the demo's tracks): large enough that
# DuckDB writes whole row groups straight to the database file instead of
# through its write-ahead log, small enough to stage in a fraction of the
# memory limit.
PARQUET_BATCH_BYTES = 256 << 20


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


def _is_landing_file(path: Path) -> bool:
    return (
        path.is_file()
        and not path.name.startswith(("_", "."))
        and path.name.endswith(LANDING_SUFFIXES)
    )


def partition_value(folder_name: str) -> str | None:
    """``2026-06-29`` for a Hive-style folder ``event_date=2026-06-29``, else None."""
    name, sep, value = folder_name.partition("=")
    return value if sep and name and value else None


def landing_files(
    landing_dir: Path, source: str, table: str, partitions: Iterable[str] | None = None
) -> list[Path]:
    """Files for one raw table, in path order; names starting with _ or . are ignored.

    Files directly in the table's folder and in its Hive-style partition
    folders (``<column>=<value>/``) both count; with ``partitions`` only the
    files of partition folders with one of those values do.
    """
    folder = landing_dir / source / table
    if not folder.is_dir():
        return []
    wanted = None if partitions is None else set(partitions)
    files = []
    for entry in folder.iterdir():
        value = partition_value(entry.name) if entry.is_dir() else None
        if value is not None:
            if wanted is None or value in wanted:
                files.extend(p for p in entry.iterdir() if _is_landing_file(p))
        elif wanted is None and _is_landing_file(entry):
            files.append(entry)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def table_partitions(landing_dir: Path, source: str, table: str) -> list[str]:
    """The partition values a table's landing folder holds, in order."""
    folder = landing_dir / source / table
    if not folder.is_dir():
        return []
    values = (partition_value(p.name) for p in folder.iterdir() if p.is_dir())
    return sorted(v for v in values if v is not None)


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


def _is_parquet(path: Path) -> bool:
    return path.name.endswith(PARQUET_SUFFIX)


def _parquet_reader(path: Path) -> str:
    # Partition folder names are not columns: the contract defines the row.
    return (
        f"read_parquet({_literal(str(path))}, hive_partitioning = false, "
        "file_row_number = true)"
    )


def read_columns(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """Column names and DuckDB types of a landing file (all VARCHAR for a CSV).

    A file DuckDB cannot read raises ``LandingFileError`` naming the file.
    """
    kind = "Parquet" if _is_parquet(path) else "CSV"
    try:
        if _is_parquet(path):
            relation = con.sql(f"select * exclude (file_row_number) from {_parquet_reader(path)}")
        else:
            # Malformed rows must not stop the header from being read; the
            # full read quarantines them.
            relation = con.sql(f"select * from {_csv_reader(path, ignore_errors='true')} limit 0")
        return {name: str(type_) for name, type_ in zip(relation.columns, relation.types)}
    except duckdb.Error as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        detail = " ".join(lines[:2])
        raise LandingFileError(f"{path}: file cannot be read as {kind}: {detail}") from exc


def check_header(contract: TableContract, path: Path, header: list[str]) -> None:
    missing = [c for c in contract.required_columns if c not in header]
    if missing:
        listed = ", ".join(repr(c) for c in missing)
        raise LandingFileError(
            f"{path}: missing required column(s) {listed} for raw table "
            f"{contract.qualified_name} (found: {', '.join(header)})"
        )


def _typed_expression(column: str, data_type: str, source_type: str = "VARCHAR") -> str:
    """Cast one column to its contract type; unparseable values become null.

    Text is trimmed and an empty value is null. Timestamps go through
    ``timestamptz`` so an explicit offset is honoured and every value lands in
    UTC (the connection runs with TimeZone=UTC).
    """
    if source_type == "VARCHAR":
        value = f"nullif(trim({_quote(column)}), '')"
        if data_type == "varchar":
            return f"nullif({_quote(column)}, '')"
    else:
        value = _quote(column)
        if data_type == "varchar":
            return f"cast({value} as varchar)"
    if data_type == "timestamp":
        return f"try_cast(try_cast({value} as timestamptz) as timestamp)"
    return f"try_cast({value} as {data_type})"


def _present_expression(column: str, source_type: str) -> str:
    """True when the file carries a value (for text: a non-blank one)."""
    if source_type == "VARCHAR":
        return f"nullif(trim(t.{_quote(column)}), '') is not null"
    return f"t.{_quote(column)} is not null"


def _reason_expression(contract: TableContract, types: dict[str, str]) -> str:
    """Why a staged row cannot load (null when it can): casts that fail, empty keys."""
    failures = []
    for c in contract.columns:
        if c.name not in types or c.data_type == "varchar":
            continue
        source_type = types[c.name]
        failures.append(
            f"case when {_present_expression(c.name, source_type)} "
            f"and {_typed_expression(c.name, c.data_type, source_type)} is null "
            f"then 'column {c.name}: cannot parse \"' || cast(t.{_quote(c.name)} as varchar) "
            f"|| '\" as {c.data_type}' end"
        )
    for key in contract.primary_key:
        if key in types:
            failures.append(
                f"case when not {_present_expression(key, types[key])} "
                f"then 'column {key}: primary key is empty' end"
            )
    return f"nullif(concat_ws('; ', {', '.join(failures)}), '')" if failures else "null"


def _value_expressions(contract: TableContract, types: dict[str, str]) -> list[str]:
    """The contract's columns the file carries, typed, then its extra columns as they are."""
    known = {c.name for c in contract.columns}
    typed = [
        f"{_typed_expression(c.name, c.data_type, types[c.name])} as {_quote(c.name)}"
        for c in contract.columns
        if c.name in types
    ]
    extras = [
        _quote(n) if t == "VARCHAR" else f"cast({_quote(n)} as varchar) as {_quote(n)}"
        for n, t in types.items()
        if n not in known
    ]
    return typed + extras


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


def _stage_csv(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    path: Path,
    rel_path: str,
    header: list[str],
) -> None:
    """Read a CSV into temp table ``_stage``: file, line, reason, raw record, typed values.

    Lines with the wrong number of fields land in temp table ``_rejects``.
    """
    con.execute("drop table if exists _stage_text")
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

    types = dict.fromkeys(header, "VARCHAR")
    con.execute(
        f"""
        create temp table _stage as
        select
            {_literal(rel_path)} as _file,
            t._record_index
                + 1
                + coalesce(r.rejects_so_far, 0) as _loaded_line,
            {_reason_expression(contract, types)} as _reason,
            -- The record as it arrived, without the loader's own index.
            json_merge_patch(to_json(t), '{{"_record_index": null}}') as _raw_record,
            {', '.join(_value_expressions(contract, types))}
        from _stage_text as t
        asof left join _reject_offsets as r
            on t._record_index > r.records_before
        """
    )
    con.execute("drop table _reject_offsets")
    con.execute("drop table _stage_text")


@dataclass
class _PendingFile:
    """A landing file that is new or changed since it last loaded."""

    path: Path
    rel_path: str
    sha: str
    # SHA-256 of the version loaded before; False when the file never loaded.
    previous: str | None | bool


def _stage_parquet(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    files: list[_PendingFile],
    landing_dir: Path,
    types: dict[str, str],
) -> None:
    """Read Parquet files of one schema into temp table ``_stage``, like ``_stage_csv``.

    The raw record is only built for a row that fails: at a hundred million
    events, JSON for every row would cost more than the load itself. (Staging
    once and inserting from the stage measured cheaper than scanning the
    files twice, once for the failing rows and once for the others.)
    """
    paths = ", ".join(_literal(str(f.path)) for f in files)
    # The path under the landing folder, as the audit and lineage name files.
    prefix_length = len(str(landing_dir).rstrip("/")) + 2
    record = ", ".join(f"{_literal(n)}, t.{_quote(n)}" for n in types)
    con.execute(
        f"""
        create temp table _stage as
        with checked as (
            select {_reason_expression(contract, types)} as _reason, t.*
            from read_parquet(
                [{paths}], hive_partitioning = false, file_row_number = true,
                filename = '_landing_file'
            ) as t
        )
        select
            substr(t._landing_file, {prefix_length}) as _file,
            t.file_row_number + 1 as _loaded_line,
            t._reason,
            case when t._reason is not null then json_object({record}) end as _raw_record,
            {', '.join(_value_expressions(contract, types))}
        from checked as t
        """
    )


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    loaded_at: dt.datetime,
    csv_file: str | None = None,
) -> dict[str, int]:
    """Quarantine the staged rows that cannot load; return the count per file.

    ``csv_file`` names the staged CSV, whose rejected lines (wrong number of
    fields) are in ``_rejects``; Parquet files have none.
    """
    con.execute(
        f"""
        insert into {QUARANTINE_TABLE}
        select ?, ?, _file, _loaded_line, _reason, _raw_record, ?
        from _stage where _reason is not null
        """,
        [contract.source, contract.table, loaded_at],
    )
    counts = dict(
        con.execute(
            "select _file, count(*) from _stage where _reason is not null group by _file"
        ).fetchall()
    )
    if csv_file is not None:
        con.execute(
            f"""
            insert into {QUARANTINE_TABLE}
            select ?, ?, ?, line, error_type || ': ' || error_message, csv_line, ?
            from _rejects
            """,
            [contract.source, contract.table, csv_file, loaded_at],
        )
        (rejected,) = con.execute("select count(distinct line) from _rejects").fetchone()
        counts[csv_file] = counts.get(csv_file, 0) + int(rejected)
    return {name: int(n) for name, n in counts.items()}


def _insert_rows(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    header: list[str],
    loaded_at: dt.datetime,
) -> dict[str, int]:
    """Insert the staged rows that load; return the count per file."""
    known = {c.name for c in contract.columns}
    columns = [c.name for c in contract.columns if c.name in header]
    columns += [n for n in header if n not in known]
    target = ", ".join(_quote(c) for c in columns + list(LINEAGE_COLUMNS))
    values = ", ".join(_quote(c) for c in columns)
    con.execute(
        f"""
        insert into {_quote(contract.source)}.{_quote(contract.table)} ({target})
        select {values}, _file, _loaded_line, ?
        from _stage where _reason is null
        """,
        [loaded_at],
    )
    counts = con.execute(
        "select _file, count(*) from _stage where _reason is null group by _file"
    ).fetchall()
    return {name: int(n) for name, n in counts}


def _last_loaded_sha(
    con: duckdb.DuckDBPyConnection, contract: TableContract, rel_path: str
) -> str | None | bool:
    """The SHA-256 of the file's last loaded version; False when it never loaded."""
    row = con.execute(
        f"""
        select file_sha256 from {AUDIT_TABLE}
        where source = ? and table_name = ? and file_path = ? and status = 'loaded'
        order by finished_at desc limit 1
        """,
        [contract.source, contract.table, rel_path],
    ).fetchone()
    return False if row is None else row[0]


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


def _pending(
    con: duckdb.DuckDBPyConnection, contract: TableContract, path: Path, landing_dir: Path
) -> _PendingFile | None:
    """The file to load, or None when this very version is already loaded."""
    rel_path = path.relative_to(landing_dir).as_posix()
    sha = file_fingerprint(path)
    previous = _last_loaded_sha(con, contract, rel_path)
    return None if previous == sha else _PendingFile(path, rel_path, sha, previous)


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    files: list[_PendingFile],
    landing_dir: Path,
    types: dict[str, str],
) -> list[FileLoadResult]:
    """Load files of one schema in one transaction: all of them or, on a crash, none."""
    started_at, clock = _utcnow(), time.perf_counter()
    header = list(types)
    con.execute("begin transaction")
    try:
        _ensure_raw_table(con, contract, header)
        for file in files:
            # A changed file replaces whatever its earlier version loaded. A
            # file that never loaded has nothing to replace (its rows,
            # quarantine and audit row commit together), which spares a scan
            # of the whole raw table per file: at 700 daily files of 100
            # million events, those scans would cost more than the loads.
            if file.previous is False:
                continue
            con.execute(
                f"delete from {_quote(contract.source)}.{_quote(contract.table)} "
                "where _loaded_file = ?",
                [file.rel_path],
            )
            con.execute(
                f"delete from {QUARANTINE_TABLE} "
                "where source = ? and table_name = ? and file_path = ?",
                [contract.source, contract.table, file.rel_path],
            )
        for temp in ("_stage", "_rejects", "_rejects_scan"):
            con.execute(f"drop table if exists {temp}")
        if _is_parquet(files[0].path):
            _stage_parquet(con, contract, files, landing_dir, types)
            csv_file = None
        else:
            [only] = files
            _stage_csv(con, contract, only.path, only.rel_path, header)
            csv_file = only.rel_path
        quarantined = _insert_quarantine(con, contract, started_at, csv_file)
        loaded = _insert_rows(con, contract, header, started_at)
        total = sum(loaded.values()) + sum(quarantined.values()) or 1
        seconds = time.perf_counter() - clock
        results = []
        for file in files:
            result = FileLoadResult(
                contract.source, contract.table, file.rel_path, status="loaded",
                rows_loaded=loaded.get(file.rel_path, 0),
                rows_quarantined=quarantined.get(file.rel_path, 0),
            )
            # One transaction's time, shared out by rows.
            share = (result.rows_loaded + result.rows_quarantined) / total
            result.seconds = seconds * (share if len(files) > 1 else 1.0)
            _audit(con, result, file.sha, started_at)
            results.append(result)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        for temp in ("_stage", "_rejects", "_rejects_scan"):
            con.execute(f"drop table if exists {temp}")
    return results


def load_file(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    path: Path,
    landing_dir: Path,
) -> FileLoadResult:
    """Load one landing file in one transaction; see the module docstring."""
    con.execute("set TimeZone = 'UTC'")
    ensure_loader_tables(con)
    file = _pending(con, contract, path, landing_dir)
    if file is None:
        return FileLoadResult(
            contract.source, contract.table, path.relative_to(landing_dir).as_posix(),
            status="unchanged",
        )
    types = read_columns(con, path)
    check_header(contract, path, list(types))
    [result] = _load_batch(con, contract, [file], landing_dir, types)
    return result


def _failed(contract: TableContract, rel_path: str, error: LandingFileError) -> FileLoadResult:
    return FileLoadResult(contract.source, contract.table, rel_path, status="failed",
                          error=str(error))


def _load_table(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    files: list[Path],
    landing_dir: Path,
) -> Iterator[FileLoadResult]:
    """Load a table's files: a CSV alone, new Parquet files of one schema together.

    Batching Parquet files amortises a transaction's commit over up to
    ``PARQUET_BATCH_BYTES`` of files, which is what makes loading two years of
    daily event files fast. A file that is broken, or was loaded before in
    another version, still loads (or fails) on its own.
    """
    batch: list[_PendingFile] = []
    batch_types: dict[str, str] | None = None
    batch_bytes = 0

    def flush() -> Iterator[FileLoadResult]:
        nonlocal batch, batch_types, batch_bytes
        if batch:
            yield from _load_batch(con, contract, batch, landing_dir, batch_types or {})
        batch, batch_types, batch_bytes = [], None, 0

    for path in files:
        if not _is_parquet(path):
            try:
                yield load_file(con, contract, path, landing_dir)
            except LandingFileError as exc:
                result = _failed(contract, path.relative_to(landing_dir).as_posix(), exc)
                _audit(con, result, None, _utcnow())
                yield result
            continue
        file = _pending(con, contract, path, landing_dir)
        if file is None:
            yield FileLoadResult(contract.source, contract.table,
                                 path.relative_to(landing_dir).as_posix(), status="unchanged")
            continue
        try:
            types = read_columns(con, path)
            check_header(contract, path, list(types))
        except LandingFileError as exc:
            result = _failed(contract, file.rel_path, exc)
            _audit(con, result, None, _utcnow())
            yield result
            continue
        if batch and (types != batch_types or file.previous is not False):
            yield from flush()
        batch.append(file)
        batch_types = types
        batch_bytes += path.stat().st_size
        if file.previous is not False or batch_bytes >= PARQUET_BATCH_BYTES:
            yield from flush()
    yield from flush()


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: SourceContract,
    landing_dir: Path,
    tables: Iterable[str] | None = None,
    on_file: Callable[[FileLoadResult], None] | None = None,
    partitions: Iterable[str] | None = None,
) -> SourceLoadReport:
    """Load every landing file of a source; broken files are reported, not fatal.

    The caller decides what a failure means (the Dagster asset fails after the
    rest has loaded); ``report.failures`` carries each broken file's message.
    With ``partitions`` only the files of those partitions' folders load (a
    daily load of ``event_date=<day>``, or a range of days).
    """
    con.execute("set TimeZone = 'UTC'")
    ensure_loader_tables(con)
    wanted = set(tables) if tables is not None else None
    report = SourceLoadReport(source.name)
    for contract in source.tables:
        if wanted is not None and contract.table not in wanted:
            continue
        files = landing_files(landing_dir, source.name, contract.table, partitions)
        # The raw table exists even when no file loads, so dbt can still build.
        _ensure_raw_table(con, contract, [])
        for result in _load_table(con, contract, files, landing_dir):
            report.files.append(result)
            if on_file is not None:
                on_file(result)
    return report
