"""Dagster resources shared by the asset modules."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """Where the warehouse and its landing files live, and what day it describes.

    One instance is built from ``orchestration.settings`` for real runs; tests
    build one pointing at temporary folders.
    """

    duckdb_path: str
    landing_dir: str
    as_of_date: str

    @classmethod
    def from_settings(cls, settings: Settings) -> WarehouseResource:
        return cls(
            duckdb_path=str(settings.duckdb_path),
            landing_dir=str(settings.landing_dir),
            as_of_date=settings.as_of_date.isoformat(),
        )

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, closed on exit so dbt can open the file next."""
        Path(self.duckdb_path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.duckdb_path)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def dbt_env(self) -> dict[str, str]:
        return {
            "CS_DUCKDB_PATH": self.duckdb_path,
            "CS_LANDING_DIR": self.landing_dir,
            "CS_AS_OF_DATE": self.as_of_date,
        }


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
