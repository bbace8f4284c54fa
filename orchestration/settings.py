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
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
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
    )


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
