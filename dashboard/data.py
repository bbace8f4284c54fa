"""Reading the serving copy: one short read-only connection per query, results cached briefly.

The serving copy (``Settings.serving_path``, docs/serving.md) is republished
whole by an atomic rename. Opening it per query, read-only, means the
dashboard never holds a lock that could block a publication, and the next
rerun after a swap reads the new file: the cache key carries the file's inode
and modification time, so a swapped-in copy never serves old results.

Every problem a reader can meet (no serving copy yet, a table the copy does
not carry, a file that cannot be opened) becomes ``DataUnavailable`` with a
plain sentence; the pages show that sentence instead of a stack trace.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from orchestration.settings import load_settings

# Long enough that the widgets of one page do not re-query on every click,
# short enough that nobody reads numbers older than a publication for long
# (a swap changes the key at once anyway).
CACHE_SECONDS = 60

# DuckDB names the relation it could not find in its catalog error.
_MISSING_TABLE = re.compile(r'Table with name "?([\w.]+)"? does not exist')


class DataUnavailable(Exception):
    """Data a page needs is not there; the message is what the reader is shown."""


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices; an empty tuple means no restriction."""

    segments: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    def params(self) -> dict[str, object]:
        """Named parameters for ``ACCOUNT_FILTER`` and ``SEGMENT_FILTER``."""
        return {"segments": list(self.segments), "owners": list(self.owners)}


# Accounts whose segment and owner (dim_accounts, today's values) match the
# sidebar; daily marts carry the same segment and owner as dim_accounts.
ACCOUNT_FILTER = """
    account_id in (
        select account_id
        from marts.dim_accounts
        where (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], segment))
            and (len($owners::varchar[]) = 0 or list_contains($owners::varchar[], owner_name))
    )
"""

# For marts whose grain is a segment: the owner filter cannot apply to them.
SEGMENT_FILTER = (
    "(len($segments::varchar[]) = 0 or list_contains($segments::varchar[], segment))"
)


def serving_path() -> Path:
    return load_settings().serving_path


def _file_key(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataUnavailable(
            f"No serving copy at {path} yet. Build the warehouse (`make run`) to "
            "publish it, or point CS_SERVING_PATH at one."
        ) from None
    return stat.st_ino, stat.st_mtime_ns


def _freeze(params: Mapping[str, object]) -> tuple[tuple[str, object], ...]:
    # st.cache_data hashes its arguments; lists become tuples so equal
    # parameters give equal keys.
    return tuple(
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in sorted(params.items())
    )


@st.cache_data(ttl=CACHE_SECONDS, max_entries=512, show_spinner=False)
def _cached_query(
    path: str, file_key: tuple[int, int], sql: str, params: tuple[tuple[str, object], ...]
) -> pd.DataFrame:
    bound = {name: list(value) if isinstance(value, tuple) else value for name, value in params}
    # Only the parameters the statement names: DuckDB refuses unused ones.
    bound = {name: value for name, value in bound.items() if f"${name}" in sql}
    try:
        with duckdb.connect(path, read_only=True) as con:
            return con.execute(sql, bound).df()
    except duckdb.CatalogException as exc:
        match = _MISSING_TABLE.search(str(exc))
        missing = match.group(1) if match else str(exc).splitlines()[0]
        raise DataUnavailable(
            f"The serving copy has no table {missing}, so this part cannot be shown."
        ) from None
    except duckdb.IOException as exc:
        raise DataUnavailable(
            f"The serving copy at {path} cannot be opened: {str(exc).splitlines()[0]}"
        ) from None


def read(sql: str, params: Mapping[str, object] | None = None) -> pd.DataFrame:
    """The rows of one query against the serving copy, as a DataFrame."""
    path = serving_path()
    return _cached_query(str(path), _file_key(path), sql, _freeze(params or {}))


def existing_tables(names: Sequence[str]) -> set[str]:
    """Which of ``schema.table`` names the serving copy carries."""
    found = read(
        "select table_schema || '.' || table_name as name from information_schema.tables "
        "where list_contains($names::varchar[], table_schema || '.' || table_name)",
        {"names": list(names)},
    )
    return set(found["name"])


def latest_health_date(end_date: dt.date | None) -> dt.date:
    """The last scored day on or before ``end_date`` (the page's as-of day)."""
    found = read(
        "select max(date_day) as date_day from marts.fct_account_health_daily "
        "where $end_date::date is null or date_day <= $end_date::date",
        {"end_date": end_date},
    )
    value = found["date_day"].iloc[0]
    if pd.isna(value):
        raise DataUnavailable("No health scores on or before the selected end date.")
    return pd.Timestamp(value).date()


def require_rows(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` unchanged, or ``DataUnavailable`` naming what is empty."""
    if frame.empty:
        raise DataUnavailable(f"No {what} for the selected filters.")
    return frame

