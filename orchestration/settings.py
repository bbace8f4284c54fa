"""Every environment variable the project reads, resolved in one place.

The dbt side reads the same variables through ``env_var()`` in
``profiles.yml`` and ``dbt_project.yml``; the Python side exports the resolved
values to dbt's environment (see ``dbt_env``) so both always agree.

The CRM sync reads ``HUBSPOT_ACCESS_TOKEN`` (a private-app token; unset means
no real CRM is configured and the embedded sandbox at ``CS_CRM_SANDBOX_PATH``
stands in), ``HUBSPOT_BASE_URL``, the ``CS_CRM_*`` pacing and retry settings
(requests per interval and interval size mirror HubSpot's rolling limit, so
the client stays under it instead of collecting 429s), the write mode
``CS_CRM_SYNC_MODE`` and the blocking checks' thresholds. The token is kept
out of ``repr`` so a logged or printed ``Settings`` never shows it.

DuckDB's resource limits, ``CS_DUCKDB_MEMORY_LIMIT``, ``CS_DUCKDB_THREADS`` and
``CS_DUCKDB_TEMP_DIR`` (where DuckDB spills what does not fit), apply to every
connection: dbt's through ``profiles.yml``, Python's through
``WarehouseResource.connect``.

``CS_SERVING_PATH`` is the read-only copy the pipeline publishes for the
dashboard and BI tools (docs/serving.md). The Spark target's ``CS_SPARK_*``
variables are read by ``profiles.yml`` alone: no Python asset runs on Spark
(docs/portability.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Name of the file the demo generator writes at the root of the landing folder.
GENERATION_MANIFEST = "_generation.json"

# DuckDB's default memory limit is 80% of RAM, which lets one build take the
# machine. A third leaves room for what DuckDB's limit does not count (Python,
# the dbt process, GX's pandas frames, DuckDB's own allocations outside its
# buffer pool) under the project's target of a process-tree peak below half of
# RAM (12 GB of 24 GB on the development machine, where a third is 8 GB).
DEFAULT_MEMORY_SHARE = 1 / 3
# Spilled intermediate results go inside the git-ignored data folder, on the
# same disk as the warehouse, rather than beside the warehouse file (DuckDB's
# default, ``<file>.tmp``) where they would be easy to mistake for data.
DEFAULT_DUCKDB_TEMP_DIR = "data/tmp/duckdb"
# What DuckDB's memory_limit accepts: a size with a decimal (KB..TB) or binary
# (KiB..TiB) unit, or a share of RAM in percent.
_MEMORY_LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|%)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one run."""

    landing_dir: Path
    duckdb_path: Path
    as_of_date: dt.date
    demo_accounts: int
    demo_seed: int
    hubspot_access_token: str | None = field(default=None, repr=False)
    hubspot_base_url: str = "https://api.hubapi.com"
    crm_requests_per_interval: int = 190
    crm_interval_seconds: float = 10.0
    crm_timeout_seconds: float = 30.0
    crm_max_retries: int = 8
    # Reverse-ETL wiring (orchestration/defs/crm.py): the embedded sandbox's
    # file when no token is set (load_settings puts it beside the warehouse),
    # the write mode, and the blocking checks' thresholds (dry-run rejected
    # share, billing-customer identity coverage).
    crm_sandbox_path: Path = PROJECT_DIR / "data" / "crm_sandbox.sqlite"
    crm_sync_mode: str = "upsert"
    crm_max_rejected_share: float = 0.02
    crm_min_identity_coverage: float = 0.95
    # DuckDB's limits, the same for dbt (profiles.yml) and Python connections.
    duckdb_memory_limit: str = field(default_factory=lambda: default_memory_limit())
    duckdb_threads: int = field(default_factory=lambda: default_threads())
    duckdb_temp_dir: Path = PROJECT_DIR / DEFAULT_DUCKDB_TEMP_DIR
    # The read-only copy of the marts that dashboards and BI tools open
    # (docs/serving.md): republished whole after each checked build.
    serving_path: Path = PROJECT_DIR / "data" / "warehouse_serving.duckdb"

    def dbt_env(self) -> dict[str, str]:
        """The variables dbt must see so it reads what the loader wrote, with the same limits."""
        return {
            "CS_LANDING_DIR": str(self.landing_dir),
            "CS_DUCKDB_PATH": str(self.duckdb_path),
            "CS_AS_OF_DATE": self.as_of_date.isoformat(),
            **duckdb_limits_env(
                self.duckdb_memory_limit, self.duckdb_threads, self.duckdb_temp_dir
            ),
        }


def duckdb_limits_env(memory_limit: str, threads: int, temp_dir: Path | str) -> dict[str, str]:
    """DuckDB's limits as the environment variables profiles.yml reads."""
    return {
        "CS_DUCKDB_MEMORY_LIMIT": memory_limit,
        "CS_DUCKDB_THREADS": str(threads),
        "CS_DUCKDB_TEMP_DIR": str(temp_dir),
    }


def physical_memory_bytes() -> int:
    """RAM of the machine (Linux and macOS report it through sysconf)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_memory_limit(total_bytes: int | None = None) -> str:
    """A third of RAM in whole GB (at least 1 GB); see ``DEFAULT_MEMORY_SHARE``."""
    total = physical_memory_bytes() if total_bytes is None else total_bytes
    return f"{max(1, round(total * DEFAULT_MEMORY_SHARE / 1e9))}GB"


def default_threads() -> int:
    """One DuckDB thread per core: DuckDB's own default, stated so dbt and Python agree."""
    return os.cpu_count() or 1


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
        hubspot_access_token=env.get("HUBSPOT_ACCESS_TOKEN", "").strip() or None,
        hubspot_base_url=env.get("HUBSPOT_BASE_URL", "https://api.hubapi.com").rstrip("/"),
        crm_requests_per_interval=int(env.get("CS_CRM_REQUESTS_PER_INTERVAL", "190")),
        crm_interval_seconds=float(env.get("CS_CRM_INTERVAL_SECONDS", "10")),
        crm_timeout_seconds=float(env.get("CS_CRM_TIMEOUT_SECONDS", "30")),
        crm_max_retries=int(env.get("CS_CRM_MAX_RETRIES", "8")),
        # Beside the warehouse by default (data/crm_sandbox.sqlite), so a second
        # warehouse (make test's) keeps its own sandbox, in step with its state.
        crm_sandbox_path=(
            _resolve_path(env["CS_CRM_SANDBOX_PATH"])
            if env.get("CS_CRM_SANDBOX_PATH", "").strip()
            else duckdb_path.parent / "crm_sandbox.sqlite"
        ),
        crm_sync_mode=_choice(
            "CS_CRM_SYNC_MODE",
            env.get("CS_CRM_SYNC_MODE", "upsert"),
            ("upsert", "update_only", "dry_run"),
        ),
        crm_max_rejected_share=_share(
            "CS_CRM_MAX_REJECTED_SHARE", env.get("CS_CRM_MAX_REJECTED_SHARE", "0.02")
        ),
        crm_min_identity_coverage=_share(
            "CS_CRM_MIN_IDENTITY_COVERAGE", env.get("CS_CRM_MIN_IDENTITY_COVERAGE", "0.95")
        ),
        duckdb_memory_limit=parse_memory_limit(
            "CS_DUCKDB_MEMORY_LIMIT", env.get("CS_DUCKDB_MEMORY_LIMIT", "")
        ),
        duckdb_threads=_positive_int(
            "CS_DUCKDB_THREADS", env.get("CS_DUCKDB_THREADS", ""), default_threads()
        ),
        duckdb_temp_dir=_resolve_path(
            env.get("CS_DUCKDB_TEMP_DIR", "").strip() or DEFAULT_DUCKDB_TEMP_DIR
        ),
        # Beside the warehouse by default, like the sandbox: each warehouse
        # (make run's, make test's) publishes its own serving copy.
        serving_path=(
            _resolve_path(env["CS_SERVING_PATH"])
            if env.get("CS_SERVING_PATH", "").strip()
            else duckdb_path.with_name(duckdb_path.stem + "_serving.duckdb")
        ),
    )


def parse_memory_limit(name: str, raw: str) -> str:
    """A DuckDB memory limit such as ``8GB``, ``512MiB`` or ``50%``; empty means the default.

    Checked here so a typo names its variable instead of failing deep inside
    dbt with DuckDB's parser error; a bare number is refused because DuckDB
    would need a unit and a reader could not tell bytes from gigabytes.
    """
    if not raw.strip():
        return default_memory_limit()
    match = _MEMORY_LIMIT.match(raw)
    if match is None:
        raise ValueError(
            f"{name}={raw!r} is not a memory size: write a number and a unit "
            "(KB, MB, GB, TB, KiB, MiB, GiB, TiB) or a share of RAM in percent, e.g. 8GB"
        )
    amount, unit = float(match.group(1)), match.group(2)
    if amount <= 0 or (unit == "%" and amount > 100):
        raise ValueError(f"{name}={raw!r} must be above 0 (and at most 100%)")
    return f"{match.group(1)}{unit}"


def _positive_int(name: str, raw: str, default: int) -> int:
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a whole number") from exc
    if value < 1:
        raise ValueError(f"{name}={raw!r} must be at least 1")
    return value


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip()
    if value not in allowed:
        raise ValueError(f"{name}={raw!r} must be one of {', '.join(allowed)}")
    return value


def _share(name: str, raw: str) -> float:
    """A share between 0 and 1; a typo such as 2 for 2% would silently disable a check."""
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={raw!r} must be a share between 0 and 1")
    return value
