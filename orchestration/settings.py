"""Every environment variable the project reads, resolved in one place.

The dbt side reads the same variables through ``env_var()`` in
``profiles.yml`` and ``dbt_project.yml``; the Python side exports the resolved
values to dbt's environment (see ``dbt_env``) so both always agree.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Name of the file the demo generator writes at the root of the landing folder.
GENERATION_MANIFEST = "_generation.json"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one run."""

    landing_dir: Path
    duckdb_path: Path
    as_of_date: dt.date
    demo_accounts: int
    demo_seed: int

    def dbt_env(self) -> dict[str, str]:
        """The variables dbt must see so it reads what the loader wrote."""
        return {
            "CS_LANDING_DIR": str(self.landing_dir),
            "CS_DUCKDB_PATH": str(self.duckdb_path),
            "CS_AS_OF_DATE": self.as_of_date.isoformat(),
        }


def _resolve_path(raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_DIR / path


def _manifest_as_of(landing_dir: Path) -> dt.date | None:
    """The as-of date the landing data was generated for, when known."""
    manifest = landing_dir / GENERATION_MANIFEST
    if not manifest.is_file():
        return None
    try:
        return dt.date.fromisoformat(json.loads(manifest.read_text())["as_of_date"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{manifest}: cannot read 'as_of_date': {exc}") from exc


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the environment once; every default is documented in the README.

    The as-of date falls back to the date the landing data was generated for,
    then to today (UTC), so a warehouse built from yesterday's demo data does
    not silently describe a day with no data.
    """
    env = os.environ if environ is None else environ
    landing_dir = _resolve_path(env.get("CS_LANDING_DIR", "data/landing"))
    duckdb_path = _resolve_path(env.get("CS_DUCKDB_PATH", "data/warehouse.duckdb"))

    raw_as_of = env.get("CS_AS_OF_DATE", "").strip()
    if raw_as_of:
        try:
            as_of = dt.date.fromisoformat(raw_as_of)
        except ValueError as exc:
            raise ValueError(
                f"CS_AS_OF_DATE={raw_as_of!r} is not a date in YYYY-MM-DD form"
            ) from exc
    else:
        as_of = _manifest_as_of(landing_dir) or dt.datetime.now(dt.UTC).date()

    return Settings(
        landing_dir=landing_dir,
        duckdb_path=duckdb_path,
        as_of_date=as_of,
        demo_accounts=int(env.get("CS_DEMO_ACCOUNTS", "500")),
        demo_seed=int(env.get("CS_DEMO_SEED", "42")),
    )
