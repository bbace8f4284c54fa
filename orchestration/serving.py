"""Publish the marts to a serving copy that dashboards and BI tools open read-only.

DuckDB lets one process write a file or many read it, never both: a BI tool
holding the warehouse open would stop the pipeline's next build, and a build
would lock the BI tool out. So readers never open the warehouse. After each
checked build the pipeline writes a whole new serving file through its own
warehouse connection (``ATTACH``, copy, ``DETACH``), then renames it over the
previous one. The rename is atomic: a new connection opens either the old
complete copy or the new complete copy, never a half-written one; a connection
already open keeps reading the file it opened (the old inode lives on until
it closes); and the pipeline never opens the serving file itself, so a
reader's lock never makes it wait. docs/serving.md says how to connect.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Schemas published whole: the marts (the data dictionary and source health
# included), the CRM sync models, and the CRM sync's own state and run history.
PUBLISHED_SCHEMAS = ("marts", "sync", "crm_sync")
# Tables published by name: the load audit and quarantine that
# fct_source_health summarises, for a reader who wants the rows behind it,
# and the health score's thresholds, which explain a component's points.
PUBLISHED_TABLES = (
    ("loader", "load_audit"),
    ("loader", "quarantine"),
    ("reference", "health_component_thresholds"),
)
# Where the copy describes itself: one row about the publication, and one row
# per published table with its row count.
SERVING_SCHEMA = "serving"
PUBLICATION_TABLE = "publication"
PUBLISHED_TABLES_TABLE = "published_tables"
# The storage format the copy is written in. BI tools bundle their own DuckDB
# driver and lag the pipeline's: a file in this DuckDB's own format (v2.0.0+)
# is refused by DuckDB 1.2 ("version number 999"), while one written as v1.2.0
# opens in 1.2 and every later release, and is smaller than v1.0.0's (6.3 MB
# against 7.6 MB for the 60-account demo's marts), which lacks newer compression.
SERVING_STORAGE_VERSION = "v1.2.0"
# The name the new file is attached under while it is written.
_ATTACH_ALIAS = "serving_publish"


class ServingPublishError(RuntimeError):
    """A publish failed; the previous serving copy is untouched."""


@dataclass(frozen=True)
class Publication:
    """What one publish wrote."""

    path: Path
    published_at: dt.datetime
    as_of_date: dt.date
    run_id: str | None
    row_counts: dict[str, int]
    size_bytes: int

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def serving_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The ``(schema, table)`` pairs of the warehouse that a publish copies, in order.

    Views are copied too, as tables, so the serving file never refers back to
    the warehouse; a table that does not exist yet (``crm_sync`` before the
    first push, the loader's tables before the first load) is simply left out.
    """
    (catalog,) = con.execute("select current_database()").fetchone()
    rows = con.execute(
        """
        select table_schema, table_name
        from information_schema.tables
        where table_catalog = ?
            and (
                list_contains(?, table_schema)
                or list_contains(?, table_schema || '.' || table_name)
            )
        order by table_schema, table_name
        """,
        [
            catalog,
            list(PUBLISHED_SCHEMAS),
            [f"{schema}.{table}" for schema, table in PUBLISHED_TABLES],
        ],
    ).fetchall()
    return [(schema, table) for schema, table in rows]


def copy_table(
    con: duckdb.DuckDBPyConnection, source_catalog: str, schema: str, table: str
) -> int:
    """Copy one warehouse table into the attached serving file; its row count."""
    relation = f"{_quote(schema)}.{_quote(table)}"
    con.execute(
        f"create table {_ATTACH_ALIAS}.{relation} as "
        f"select * from {_quote(source_catalog)}.{relation}"
    )
    (count,) = con.execute(f"select count(*) from {_ATTACH_ALIAS}.{relation}").fetchone()
    return int(count)


def _write_publication(
    con: duckdb.DuckDBPyConnection,
    published_at: dt.datetime,
    as_of_date: dt.date,
    run_id: str | None,
    row_counts: dict[str, int],
) -> None:
    schema = f"{_ATTACH_ALIAS}.{SERVING_SCHEMA}"
    con.execute(f"create schema {schema}")
    con.execute(
        f"create table {schema}.{PUBLICATION_TABLE} ("
        "published_at timestamp not null, as_of_date date not null, dagster_run_id varchar)"
    )
    con.execute(
        f"insert into {schema}.{PUBLICATION_TABLE} values (?, ?, ?)",
        [published_at, as_of_date, run_id],
    )
    con.execute(
        f"create table {schema}.{PUBLISHED_TABLES_TABLE} ("
        "table_schema varchar not null, table_name varchar not null, "
        "row_count bigint not null, primary key (table_schema, table_name))"
    )
    con.executemany(
        f"insert into {schema}.{PUBLISHED_TABLES_TABLE} values (?, ?, ?)",
        [[*name.split(".", 1), count] for name, count in row_counts.items()],
    )


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def temp_path_for(serving_path: Path) -> Path:
    """A fresh hidden name beside the serving copy, so the final rename stays on one disk."""
    return serving_path.with_name(f".{serving_path.name}.{secrets.token_hex(6)}.tmp")


def stale_temp_files(serving_path: Path) -> list[Path]:
    """Files a publish killed mid-way (not by an exception) left beside the serving copy."""
    return sorted(serving_path.parent.glob(f".{serving_path.name}.*.tmp*"))


def publish_serving_copy(
    con: duckdb.DuckDBPyConnection,
    serving_path: Path,
    as_of_date: dt.date,
    run_id: str | None = None,
) -> Publication:
    """Write a new serving copy from the warehouse open on ``con``, then swap it in.

    ``con`` is the pipeline's read-write warehouse connection: DuckDB would
    refuse a second process opening the warehouse while the pipeline holds it.
    On any failure the new file is deleted, the previous copy is left as it
    was, and ``ServingPublishError`` says what failed.
    """
    serving_path = Path(serving_path)
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    # Only the process that holds the warehouse as its writer publishes, so a
    # temp file already there is a crashed publish's, never one in progress.
    for leftover in stale_temp_files(serving_path):
        leftover.unlink(missing_ok=True)
    temp_path = temp_path_for(serving_path)
    (catalog,) = con.execute("select current_database()").fetchone()
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    row_counts: dict[str, int] = {}
    attached = False
    try:
        con.execute(
            f"attach ? as {_ATTACH_ALIAS} (storage_version '{SERVING_STORAGE_VERSION}')",
            [str(temp_path)],
        )
        attached = True
        tables = serving_tables(con)
        if not any(schema == "marts" for schema, _ in tables):
            raise ValueError(f"the warehouse has no table in schema marts (catalog {catalog})")
        for schema in sorted({schema for schema, _ in tables}):
            con.execute(f"create schema {_ATTACH_ALIAS}.{_quote(schema)}")
        for schema, table in tables:
            row_counts[f"{schema}.{table}"] = copy_table(con, catalog, schema, table)
        _write_publication(con, published_at, as_of_date, run_id, row_counts)
        # Detaching checkpoints the new file, so it is whole without its WAL.
        con.execute(f"detach {_ATTACH_ALIAS}")
        attached = False
        wal = temp_path.with_name(temp_path.name + ".wal")
        if wal.exists():
            raise ValueError(f"{wal} is left after detaching: the copy was not checkpointed")
        os.replace(temp_path, serving_path)
    except BaseException as exc:
        if attached:
            try:
                con.execute(f"detach {_ATTACH_ALIAS}")
            except duckdb.Error:
                # The connection may be unusable after the first error; the
                # temp file goes anyway, and the first error is the one to report.
                pass
        _remove(temp_path)
        if not isinstance(exc, Exception):
            raise
        raise ServingPublishError(
            f"Publishing the serving copy {serving_path} failed after "
            f"{len(row_counts)} tables ({exc}); the previous copy, if any, is untouched"
        ) from exc
    return Publication(
        path=serving_path,
        published_at=published_at,
        as_of_date=as_of_date,
        run_id=run_id,
        row_counts=row_counts,
        size_bytes=serving_path.stat().st_size,
    )

