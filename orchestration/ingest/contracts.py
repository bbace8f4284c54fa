"""Source contracts, read from the dbt sources YAML files.

The dbt source definitions in ``models/staging/<source>/_<source>__sources.yml``
are the single place a raw table's shape is written down: dbt documents and
tests them, and the loader reads the same files to know which columns a landing
file must carry (``meta.required``) and which type each value must cast to
(``data_type``). Nothing about a table's columns is repeated in Python.
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


def _parse_table(source: str, node: dict, path: Path) -> TableContract:
    columns = []
    for column in node.get("columns") or []:
        data_type = str(column.get("data_type", "")).lower()
        if data_type not in SUPPORTED_TYPES:
            raise ValueError(
                f"{path}: {source}.{node['name']}.{column['name']}: data_type "
                f"{data_type!r} is not one of {sorted(SUPPORTED_TYPES)}"
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
    return TableContract(
        source=source,
        table=node["name"],
        description=(node.get("description") or "").strip(),
        columns=tuple(columns),
        primary_key=primary_key,
    )


def load_contracts(project_dir: Path = PROJECT_DIR) -> dict[str, SourceContract]:
    """Every source contract of the project, keyed by source name."""
    contracts: dict[str, SourceContract] = {}
    for path in sorted(project_dir.glob(SOURCES_GLOB)):
        document = yaml.safe_load(path.read_text()) or {}
        for source in document.get("sources") or []:
            name = source["name"]
            tables = tuple(_parse_table(name, t, path) for t in source.get("tables") or [])
            contracts[name] = SourceContract(
                name=name,
                description=(source.get("description") or "").strip(),
                tables=tables,
            )
    if not contracts:
        raise FileNotFoundError(f"no source contracts found under {project_dir / SOURCES_GLOB}")
    return contracts
