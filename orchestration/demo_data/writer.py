"""The landing-file contract on the writing side: column lists and CSV output.

``TABLES`` mirrors ``models/staging/*/_*__sources.yml`` column for column (the
tests compare the two), so every file the generator writes carries exactly the
contract's columns in the contract's order. Values are typed by the contract's
``data_type``: timestamps arrive here as epoch seconds (or as already broken
text for injected defects) and leave as ``2025-03-01T14:05:09Z``.

Files are written by DuckDB's CSV writer from Arrow tables: it quotes only when
needed, writes nulls as empty fields and booleans as ``true``/``false``, and is
fast and byte-for-byte reproducible.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .common import format_timestamps

TABLES: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("delighted", "survey_response"): [
        ("id", "string"), ("person_id", "string"), ("email", "string"),
        ("survey_type", "string"), ("score", "integer"), ("comment", "string"),
        ("created_at", "timestamp"), ("updated_at", "timestamp"),
        ("person_properties", "string"), ("_fivetran_synced", "timestamp"),
    ],
    ("finance", "sales_marketing_expense"): [
        ("expense_month", "date"), ("department", "string"), ("amount", "double"),
        ("currency", "string"),
    ],
    ("hubspot", "company"): [
        ("id", "bigint"), ("portal_id", "bigint"), ("is_deleted", "boolean"),
        ("_fivetran_deleted", "boolean"), ("_fivetran_synced", "timestamp"),
        ("property_name", "string"), ("property_domain", "string"),
        ("property_industry", "string"), ("property_numberofemployees", "integer"),
        ("property_annualrevenue", "double"), ("property_lifecyclestage", "string"),
        ("property_hubspot_owner_id", "bigint"), ("property_createdate", "timestamp"),
        ("property_hs_lastmodifieddate", "timestamp"),
        ("property_product_account_id", "string"),
    ],
    ("hubspot", "contact"): [
        ("id", "bigint"), ("property_email", "string"), ("property_firstname", "string"),
        ("property_lastname", "string"), ("property_jobtitle", "string"),
        ("property_associatedcompanyid", "bigint"), ("property_createdate", "timestamp"),
        ("_fivetran_deleted", "boolean"), ("_fivetran_synced", "timestamp"),
    ],
    ("hubspot", "owner"): [
        ("owner_id", "bigint"), ("email", "string"), ("first_name", "string"),
        ("last_name", "string"), ("active_user_id", "bigint"), ("created_at", "timestamp"),
        ("updated_at", "timestamp"), ("_fivetran_synced", "timestamp"),
    ],
    ("hubspot", "deal"): [
        ("deal_id", "bigint"), ("deal_pipeline_id", "string"),
        ("deal_pipeline_stage_id", "string"), ("owner_id", "bigint"),
        ("property_dealname", "string"), ("property_dealtype", "string"),
        ("property_amount", "double"), ("property_closedate", "timestamp"),
        ("property_createdate", "timestamp"), ("is_deleted", "boolean"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("hubspot", "deal_company"): [
        ("deal_id", "bigint"), ("company_id", "bigint"), ("_fivetran_synced", "timestamp"),
    ],
    ("hubspot", "engagement"): [
        ("id", "bigint"), ("type", "string"), ("owner_id", "bigint"),
        ("timestamp", "timestamp"), ("created_at", "timestamp"), ("active", "boolean"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("hubspot", "engagement_company"): [
        ("engagement_id", "bigint"), ("company_id", "bigint"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("hubspot", "engagement_meeting"): [
        ("engagement_id", "bigint"), ("property_hs_timestamp", "timestamp"),
        ("property_hs_meeting_title", "string"), ("property_hs_meeting_outcome", "string"),
        ("property_hubspot_owner_id", "bigint"), ("_fivetran_synced", "timestamp"),
    ],
    ("segment", "tracks"): [
        ("id", "string"), ("anonymous_id", "string"), ("user_id", "string"),
        ("event", "string"), ("event_text", "string"), ("timestamp", "timestamp"),
        ("sent_at", "timestamp"), ("received_at", "timestamp"),
    ],
    ("segment", "groups"): [
        ("id", "string"), ("user_id", "string"), ("group_id", "string"),
        ("anonymous_id", "string"), ("name", "string"), ("website", "string"),
        ("timestamp", "timestamp"), ("received_at", "timestamp"),
    ],
    ("stripe", "customer"): [
        ("id", "string"), ("created", "timestamp"), ("email", "string"), ("name", "string"),
        ("currency", "string"), ("delinquent", "boolean"), ("is_deleted", "boolean"),
        ("livemode", "boolean"), ("metadata", "string"), ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "subscription_history"): [
        ("id", "string"), ("customer_id", "string"), ("status", "string"),
        ("created", "timestamp"), ("start_date", "timestamp"),
        ("current_period_start", "timestamp"), ("current_period_end", "timestamp"),
        ("cancel_at", "timestamp"), ("cancel_at_period_end", "boolean"),
        ("canceled_at", "timestamp"), ("ended_at", "timestamp"), ("trial_start", "timestamp"),
        ("trial_end", "timestamp"), ("billing_cycle_anchor", "timestamp"),
        ("quantity", "integer"), ("metadata", "string"), ("_fivetran_start", "timestamp"),
        ("_fivetran_end", "timestamp"), ("_fivetran_active", "boolean"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "subscription_item"): [
        ("id", "string"), ("subscription_id", "string"), ("price_id", "string"),
        ("quantity", "integer"), ("created", "timestamp"), ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "price"): [
        ("id", "string"), ("product_id", "string"), ("active", "boolean"),
        ("currency", "string"), ("unit_amount", "bigint"), ("type", "string"),
        ("recurring_interval", "string"), ("recurring_interval_count", "integer"),
        ("recurring_usage_type", "string"), ("nickname", "string"), ("created", "timestamp"),
        ("metadata", "string"), ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "product"): [
        ("id", "string"), ("name", "string"), ("active", "boolean"), ("created", "timestamp"),
        ("updated", "timestamp"), ("is_deleted", "boolean"), ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "invoice"): [
        ("id", "string"), ("customer_id", "string"), ("subscription_id", "string"),
        ("status", "string"), ("billing_reason", "string"), ("created", "timestamp"),
        ("due_date", "timestamp"), ("period_start", "timestamp"), ("period_end", "timestamp"),
        ("amount_due", "bigint"), ("amount_paid", "bigint"), ("amount_remaining", "bigint"),
        ("subtotal", "bigint"), ("tax", "bigint"), ("total", "bigint"), ("currency", "string"),
        ("paid", "boolean"), ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "invoice_line_item"): [
        ("id", "string"), ("invoice_id", "string"), ("subscription_id", "string"),
        ("subscription_item_id", "string"), ("price_id", "string"), ("amount", "bigint"),
        ("currency", "string"), ("quantity", "integer"), ("period_start", "timestamp"),
        ("period_end", "timestamp"), ("proration", "boolean"), ("type", "string"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "coupon"): [
        ("id", "string"), ("name", "string"), ("percent_off", "double"),
        ("amount_off", "bigint"), ("currency", "string"), ("duration", "string"),
        ("duration_in_months", "integer"), ("valid", "boolean"), ("created", "timestamp"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("stripe", "discount"): [
        ("id", "string"), ("coupon_id", "string"), ("customer_id", "string"),
        ("subscription_id", "string"), ("start", "timestamp"), ("end", "timestamp"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("zendesk", "ticket"): [
        ("id", "bigint"), ("organization_id", "bigint"), ("requester_id", "bigint"),
        ("assignee_id", "bigint"), ("status", "string"), ("priority", "string"),
        ("type", "string"), ("subject", "string"), ("via_channel", "string"),
        ("created_at", "timestamp"), ("updated_at", "timestamp"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("zendesk", "organization"): [
        ("id", "bigint"), ("name", "string"), ("external_id", "string"),
        ("domain_names", "string"), ("created_at", "timestamp"), ("updated_at", "timestamp"),
        ("_fivetran_synced", "timestamp"),
    ],
    ("zendesk", "satisfaction_rating"): [
        ("id", "bigint"), ("ticket_id", "bigint"), ("requester_id", "bigint"),
        ("score", "string"), ("comment", "string"), ("reason", "string"),
        ("created_at", "timestamp"), ("updated_at", "timestamp"),
        ("_fivetran_synced", "timestamp"),
    ],
}

Columns = dict[str, Any]


class TableBuilder:
    """Column-wise row collector for one contract table.

    ``add(**values)`` appends a row; columns not given are null. Unknown column
    names fail loudly, so a typo never silently drops a value.
    """

    def __init__(self, source: str, table: str) -> None:
        self.key = (source, table)
        self.names = [name for name, _ in TABLES[self.key]]
        self.columns: dict[str, list] = {name: [] for name in self.names}
        self._known = set(self.names)

    def add(self, **values: Any) -> None:
        unknown = values.keys() - self._known
        if unknown:
            raise KeyError(f"{self.key}: unknown columns {sorted(unknown)}")
        for name in self.names:
            self.columns[name].append(values.get(name))

    def __len__(self) -> int:
        return len(self.columns[self.names[0]])

    def row(self, index: int) -> dict[str, Any]:
        return {name: self.columns[name][index] for name in self.names}


def _text_array(values: Any) -> pa.Array:
    if isinstance(values, np.ndarray) and values.dtype.kind == "S":
        array = pa.array(values).cast(pa.string())
    else:
        array = pa.array(values, type=pa.string())
    # An empty string would be written as "" (not null); the contract's null is
    # an empty field, so make sure no value is merely empty.
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _timestamp_array(values: Any) -> pa.Array:
    """Epoch seconds -> ISO text; text values (malformed defects) pass through."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return pa.array(format_timestamps(values)).cast(pa.string())
    out = np.empty(len(values), dtype=object)
    numeric = [i for i, v in enumerate(values) if isinstance(v, (int, np.integer))]
    if numeric:
        stamps = format_timestamps(np.array([values[i] for i in numeric], dtype=np.int64))
        out[numeric] = stamps.astype(str).astype(object)
    for i, value in enumerate(values):
        if value is None or isinstance(value, str):
            out[i] = value
    return pa.array(out, type=pa.string())


_ARROW_TYPES = {
    "bigint": pa.int64(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
    "double": pa.float64(),
}


def to_arrow(key: tuple[str, str], columns: Columns) -> pa.Table:
    """An Arrow table in contract order and contract types."""
    spec = TABLES[key]
    if list(columns) != [name for name, _ in spec]:
        raise ValueError(f"{key}: columns {list(columns)} do not match the contract")
    arrays = []
    for name, data_type in spec:
        values = columns[name]
        if data_type == "timestamp":
            arrays.append(_timestamp_array(values))
        elif data_type in ("string", "date"):
            arrays.append(_text_array(values))
        else:
            arrays.append(pa.array(values, type=_ARROW_TYPES[data_type]))
    return pa.Table.from_arrays(arrays, names=[name for name, _ in spec])


class LandingWriter:
    """Writes contract tables into ``<landing>/<source>/<table>/<part>.csv``."""

    def __init__(self, landing_dir: Path) -> None:
        self.landing_dir = landing_dir
        self.row_counts: dict[str, int] = {}
        self._con = duckdb.connect()
        self._cleared: set[tuple[str, str]] = set()
        self._fresh_dirs: set[Path] = set()

    def table_dir(self, key: tuple[str, str]) -> Path:
        return self.landing_dir / key[0] / key[1]

    def clear(self, key: tuple[str, str]) -> None:
        """Remove a table's previous files once, so no stale part survives a rerun."""
        if key in self._cleared:
            return
        folder = self.table_dir(key)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        self._cleared.add(key)

    def write(self, key: tuple[str, str], columns: Columns, part: str = "part-0000") -> int:
        self.clear(key)
        table = to_arrow(key, columns)
        return self.write_arrow(key, table, part)

    def write_arrow(self, key: tuple[str, str], table: pa.Table, part: str) -> int:
        self.clear(key)
        path = self.table_dir(key) / f"{part}.csv"
        write_csv(self._con, table, path)
        name = f"{key[0]}.{key[1]}"
        self.row_counts[name] = self.row_counts.get(name, 0) + table.num_rows
        return table.num_rows

    def write_file(self, relative_path: Path, table: pa.Table) -> None:
        """A CSV outside the contract (``_truth``...), replacing its folder's old content."""
        path = self.landing_dir / relative_path
        if path.parent.exists() and path.parent not in self._fresh_dirs:
            shutil.rmtree(path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fresh_dirs.add(path.parent)
        write_csv(self._con, table, path)

    def close(self) -> None:
        self._con.close()


def write_csv(con: duckdb.DuckDBPyConnection, table: pa.Table, path: Path) -> None:
    """One CSV file from an Arrow table: header, comma, quotes only where needed."""
    con.register("landing_rows", table)
    try:
        target = str(path).replace("'", "''")
        con.execute(f"COPY landing_rows TO '{target}' (HEADER, DELIMITER ',')")
    finally:
        con.unregister("landing_rows")
