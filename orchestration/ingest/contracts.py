"""Source contracts, read from the dbt sources YAML files.

The dbt source definitions in ``models/staging/<source>/_<source>__sources.yml``
are the single place a raw table's shape is written down: dbt documents and
tests them, and the loader reads the same files to know which columns a landing
file must carry (``meta.required``) and which type each value must cast to
(``data_type``). Nothing about a table's columns is repeated in Python.

The same files give each table's freshness: the column (or expression) whose
newest value says when the table last received data (dbt's
``loaded_at_field``) and the ``warn_after`` / ``error_after`` windows, resolved
the way dbt resolves them (a table's setting overrides its source's; ``null``
switches freshness off). The freshness checks read them from here.

A source marked ``meta: {landing: false}`` (the loader's own audit tables) is
declared for dbt to read but is not loaded from landing files, so it is left
out of the contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestration.settings import PROJECT_DIR

SOURCES_GLOB = "models/staging/*/_*__sources.yml"

# Types a contract may declare, so a typo in the YAML fails loudly at load time
# instead of turning into a cast error on every row.
SUPPORTED_TYPES = {"bigint", "integer", "double", "boolean", "varchar", "date", "timestamp"}
# The YAML writes text as `string`, the name both DuckDB and Spark accept
# (Spark's varchar needs a length; docs/portability.md); the loader says varchar.
TYPE_ALIASES = {"string": "varchar"}

# Meta key that marks a source the loader must not treat as a landing source.
LANDING_META_KEY = "landing"

# dbt's freshness periods, in hours.
PERIOD_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}


@dataclass(frozen=True)
class ColumnContract:
    name: str
    data_type: str
    required: bool
    description: str


@dataclass(frozen=True)
class TableContract:
    source: str
    table: str
    description: str
    columns: tuple[ColumnContract, ...]
    primary_key: tuple[str, ...]
    # SQL expression whose newest value is when the table last got data.
    loaded_at_field: str | None = None
    # Hours after which the table's data is stale (None: no such window).
    warn_after_hours: float | None = None
    error_after_hours: float | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.table}"

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


@dataclass(frozen=True)
class SourceContract:
    name: str
    description: str
    tables: tuple[TableContract, ...]

    def table(self, name: str) -> TableContract:
        for table in self.tables:
            if table.table == name:
                return table
        raise KeyError(f"source {self.name!r} has no table {name!r}")


def _meta(node: dict) -> dict:
    config = node.get("config") or {}
    return {**(node.get("meta") or {}), **(config.get("meta") or {})}


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _settings(node: dict, key: str) -> list:
    """The values a node sets for ``key``, top level first then under config."""
    config = node.get("config") or {}
    return [holder[key] for holder in (node, config) if key in holder]


def _window_hours(window: dict | None, path: Path, where: str) -> float | None:
    if not window or window.get("count") is None or window.get("period") is None:
        return None
    period = window["period"]
    if period not in PERIOD_HOURS:
        raise ValueError(
            f"{path}: {where}: freshness period {period!r} is not one of {sorted(PERIOD_HOURS)}"
        )
    return float(window["count"]) * PERIOD_HOURS[period]


def _freshness_hours(
    source: dict, table: dict, path: Path
) -> tuple[float | None, float | None]:
    """(warn, error) hours after dbt's merge of source and table freshness.

    Settings apply in dbt's order (source, source config, table, table
    config): ``null`` switches freshness off, a later window replaces the same
    window of an earlier setting and leaves the other one as it was.
    """
    merged: dict | None = {}
    for value in _settings(source, "freshness") + _settings(table, "freshness"):
        if value is None:
            merged = None
        elif merged is None:
            merged = dict(value) if value else None
        else:
            merged = {**merged, **value}
    where = f"{source['name']}.{table['name']}"
    merged = merged or {}
    return (
        _window_hours(merged.get("warn_after"), path, where),
        _window_hours(merged.get("error_after"), path, where),
    )


def _loaded_at_field(source: dict, table: dict) -> str | None:
    """The table's loaded_at_field, else its source's (a table's null clears it)."""
    table_settings = _settings(table, "loaded_at_field")
    if table_settings:
        return table_settings[-1]
    source_settings = _settings(source, "loaded_at_field")
    return source_settings[-1] if source_settings else None


def _parse_table(source_node: dict, node: dict, path: Path) -> TableContract:
    source = source_node["name"]
    columns = []
    for column in node.get("columns") or []:
        declared = str(column.get("data_type", "")).lower()
        data_type = TYPE_ALIASES.get(declared, declared)
        if data_type not in SUPPORTED_TYPES:
            raise ValueError(
                f"{path}: {source}.{node['name']}.{column['name']}: data_type "
                f"{declared!r} is not one of {sorted({*SUPPORTED_TYPES, *TYPE_ALIASES})}"
            )
        columns.append(
            ColumnContract(
                name=column["name"],
                data_type=data_type,
                required=bool(_meta(column).get("required", False)),
                description=(column.get("description") or "").strip(),
            )
        )
    primary_key = _as_tuple(_meta(node).get("primary_key"))
    names = {c.name for c in columns}
    missing_key = [k for k in primary_key if k not in names]
    if missing_key:
        raise ValueError(f"{path}: {source}.{node['name']}: primary key {missing_key} not declared")
    warn_after_hours, error_after_hours = _freshness_hours(source_node, node, path)
    return TableContract(
        source=source,
        table=node["name"],
        description=(node.get("description") or "").strip(),
        columns=tuple(columns),
        primary_key=primary_key,
        loaded_at_field=_loaded_at_field(source_node, node),
        warn_after_hours=warn_after_hours,
        error_after_hours=error_after_hours,
    )


def is_landing_source(source: dict) -> bool:
    """False for a source marked ``meta: {landing: false}``."""
    return _meta(source).get(LANDING_META_KEY, True) is not False


def load_contracts(project_dir: Path = PROJECT_DIR) -> dict[str, SourceContract]:
    """Every landing source contract of the project, keyed by source name."""
    contracts: dict[str, SourceContract] = {}
    for path in sorted(project_dir.glob(SOURCES_GLOB)):
        document = yaml.safe_load(path.read_text()) or {}
        for source in document.get("sources") or []:
            if not is_landing_source(source):
                continue
            name = source["name"]
            tables = tuple(_parse_table(source, t, path) for t in source.get("tables") or [])
            contracts[name] = SourceContract(
                name=name,
                description=(source.get("description") or "").strip(),
                tables=tables,
            )
    if not contracts:
        raise FileNotFoundError(f"no source contracts found under {project_dir / SOURCES_GLOB}")
    return contracts
