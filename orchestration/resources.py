"""Dagster resources shared by the asset modules."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.settings import Settings, duckdb_limits_env, load_settings


class WarehouseResource(dg.ConfigurableResource):
    """Where the warehouse and its landing files live, what day it describes, and
    the limits DuckDB runs under.

    One instance is built from ``orchestration.settings`` for real runs; tests
    build one pointing at temporary folders. Limits left unset come from the
    environment (``CS_DUCKDB_*``), so such an instance still agrees with dbt.
    """

    duckdb_path: str
    landing_dir: str
    as_of_date: str
    memory_limit: str | None = None
    threads: int | None = None
    temp_directory: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            duckdb_path=str(settings.duckdb_path),
            landing_dir=str(settings.landing_dir),
            as_of_date=settings.as_of_date.isoformat(),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            temp_directory=str(settings.duckdb_temp_dir),
        )

    def duckdb_config(self) -> dict[str, str]:
        """The connection settings, the same ones profiles.yml gives dbt."""
        unset = None in (self.memory_limit, self.threads, self.temp_directory)
        defaults = load_settings() if unset else None
        return {
            "memory_limit": self.memory_limit or defaults.duckdb_memory_limit,
            "threads": str(self.threads or defaults.duckdb_threads),
            "temp_directory": self.temp_directory or str(defaults.duckdb_temp_dir),
        }

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, closed on exit so dbt can open the file next."""
        Path(self.duckdb_path).parent.mkdir(parents=True, exist_ok=True)
        con = connect_duckdb(self.duckdb_path, self.duckdb_config())
        try:
            yield con
        finally:
            con.close()

    def dbt_env(self) -> dict[str, str]:
        config = self.duckdb_config()
        return {
            "CS_DUCKDB_PATH": self.duckdb_path,
            "CS_LANDING_DIR": self.landing_dir,
            "CS_AS_OF_DATE": self.as_of_date,
            **duckdb_limits_env(
                config["memory_limit"], int(config["threads"]), config["temp_directory"]
            ),
        }


def connect_duckdb(
    path: str | Path, config: dict[str, str], read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection under the project's limits, in UTC like dbt's.

    The limits are applied with ``set`` rather than as connect-time config:
    DuckDB refuses a second connection to a file already open in the process
    with a different config, and a plain read-only connection (a test's query)
    may be open at the same time. The temp directory is set only when it
    differs: DuckDB refuses to set it again once something has spilled there.
    The spill folder is created first, since DuckDB only creates its last level.
    """
    Path(config["temp_directory"]).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        (current_temp,) = con.execute("select current_setting('temp_directory')").fetchone()
        for name, value in config.items():
            if name == "temp_directory" and value == current_temp:
                continue
            con.execute(f"set {name} = ?", [value])
        con.execute("set TimeZone = 'UTC'")
    except BaseException:
        con.close()
        raise
    return con


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block.

    dagster-dbt starts dbt with a copy of this process's environment, and
    profiles.yml reads the warehouse path from it; this is how the resource's
    paths reach dbt without a second source of configuration.
    """
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
