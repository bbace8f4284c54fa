"""Reverse ETL as Dagster assets: push the dbt sync models to the CRM.

``crm_company_sync_push`` and ``crm_task_sync_push`` (group ``reverse_etl``)
hang off the dbt assets ``sync/crm_company_sync`` and ``sync/crm_task_sync``.
Each push runs the sync engine (``orchestration.crm.engine``), which sends only
rows whose mapped values changed since the CRM last confirmed them, so a
second run over unchanged data sends nothing.

Before anything is written, blocking checks on each sync model stop the push:
a dry run of the sync must reject at most a configured share of rows (a bad
model would otherwise send hundreds of broken records), and identity
resolution must have matched at least a configured share of billing customers
(below that, accounts are missing and the CRM would get partial numbers).

Without ``HUBSPOT_ACCESS_TOKEN`` the CRM is the embedded sandbox
(``orchestration.crm.sandbox``): started in-process for each push, seeded with
the CRM companies the warehouse knows, and persisted to a SQLite file, so
``make run`` exercises the whole path with no account and no network.

A push that fails part-way is retried (``TRANSIENT_RETRY_POLICY``): batches the
CRM confirmed are committed, so the retry sends only what is left. Each push
reports its counts, how long it took and where it wrote (sandbox or portal).
"""

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from pydantic import Field

from orchestration.crm.client import HubSpotClient
from orchestration.crm.engine import (
    MODES,
    SyncResult,
    rows_from_relation,
    sync_companies,
    sync_tasks,
)
from orchestration.crm.mapping import (
    DEFAULT_MAPPING_PATH,
    SYNC_MODELS,
    CrmMapping,
    load_mapping,
    missing_columns,
)
from orchestration.crm.sandbox import SANDBOX_TOKEN, SandboxServer
from orchestration.defs.dbt import DBT_PROJECT
from orchestration.defs.raw import TRANSIENT_RETRY_POLICY
from orchestration.resources import WarehouseResource
from orchestration.settings import Settings

REVERSE_ETL_GROUP = "reverse_etl"
# The push is owned with the sync models it sends (their dbt meta.owner).
PUSH_OWNERS = ["team:customer-success-analytics"]
COMPANY_SYNC_MODEL = dg.AssetKey(["sync", SYNC_MODELS["companies"]])
TASK_SYNC_MODEL = dg.AssetKey(["sync", SYNC_MODELS["tasks"]])
IDENTITY_COVERAGE_MODEL = dg.AssetKey(["intermediate", "int_account_identity_coverage"])
# The identity system whose coverage decides whether the CRM numbers are whole:
# billing customers carry the revenue the company sync reports.
COVERAGE_SOURCE_SYSTEM = "stripe"
# Rejections logged in full per run; the rest are in crm_sync.sync_rejections.
LOGGED_REJECTIONS = 10

# Companies the sandbox is seeded with: the CRM companies the warehouse mirrors,
# so updates hit records that exist, as they would in the real portal.
_SANDBOX_SEED_SQL = """
select
    cast(company_id as varchar) as id,
    company_name as name,
    domain,
    industry,
    cast(employee_count as varchar) as numberofemployees,
    lifecycle_stage as lifecyclestage,
    cast(owner_id as varchar) as hubspot_owner_id
from staging.stg_hubspot__companies
"""


class CrmResource(dg.ConfigurableResource):
    """The CRM the reverse ETL writes to, and the thresholds that gate it.

    With a token (``HUBSPOT_ACCESS_TOKEN``, passed as a Dagster ``EnvVar`` so
    it never appears in the run's configuration) it talks to HubSpot at
    ``base_url``; with none it starts the embedded sandbox on a free loopback
    port for the duration of a push, backed by ``sandbox_db_path``.
    """

    base_url: str = "https://api.hubapi.com"
    token: str = Field(default="", repr=False)
    sandbox_db_path: str
    requests_per_interval: int = 190
    interval_seconds: float = 10.0
    timeout_seconds: float = 30.0
    max_retries: int = 8
    sync_mode: str = "upsert"
    max_dry_run_rejected_share: float = 0.02
    min_identity_coverage: float = 0.95

    @classmethod
    def from_settings(
        cls, settings: Settings, sandbox_db_path: Path | None = None
    ) -> "CrmResource":
        """The resource for a run.

        Given ``sandbox_db_path`` (tests, temporary warehouses) it always uses the
        sandbox at that file, whatever token the environment holds, so a test can
        never write to a real portal.
        """
        token: Any = ""
        if sandbox_db_path is None and settings.hubspot_access_token:
            token = dg.EnvVar("HUBSPOT_ACCESS_TOKEN")
        return cls(
            base_url=settings.hubspot_base_url,
            token=token,
            sandbox_db_path=str(sandbox_db_path or settings.crm_sandbox_path),
            requests_per_interval=settings.crm_requests_per_interval,
            interval_seconds=settings.crm_interval_seconds,
            timeout_seconds=settings.crm_timeout_seconds,
            max_retries=settings.crm_max_retries,
            sync_mode=settings.crm_sync_mode,
            max_dry_run_rejected_share=settings.crm_max_rejected_share,
            min_identity_coverage=settings.crm_min_identity_coverage,
        )

    @classmethod
    def for_warehouse(cls, settings: Settings, duckdb_path: Path) -> "CrmResource":
        """The CRM a warehouse may write to.

        Only the configured warehouse writes to the configured CRM; any other
        (a test's temporary warehouse) gets a sandbox in a file beside it, so a
        test build never touches the project's sandbox or a real portal.
        """
        if Path(duckdb_path).resolve() == settings.duckdb_path.resolve():
            return cls.from_settings(settings)
        return cls.from_settings(
            settings, sandbox_db_path=Path(duckdb_path).parent / "crm_sandbox.sqlite"
        )

    @property
    def uses_sandbox(self) -> bool:
        return not self.token

    def target(self) -> str:
        """Where the push goes, for logs and metadata (never the token)."""
        return f"sandbox ({self.sandbox_db_path})" if self.uses_sandbox else self.base_url

    def target_kind(self) -> str:
        """``sandbox`` or ``portal``: whether a push reached a real CRM."""
        return "sandbox" if self.uses_sandbox else "portal"

    def _client(self, base_url: str, token: str) -> HubSpotClient:
        return HubSpotClient(
            base_url,
            token,
            requests_per_interval=self.requests_per_interval,
            interval_seconds=self.interval_seconds,
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
        )

    @contextlib.contextmanager
    def session(
        self, con: duckdb.DuckDBPyConnection, log: dg.DagsterLogManager
    ) -> Iterator[HubSpotClient]:
        """A client for one push; starts and stops the sandbox when no token is set."""
        if not self.uses_sandbox:
            with self._client(self.base_url, self.token) as client:
                yield client
            return
        Path(self.sandbox_db_path).parent.mkdir(parents=True, exist_ok=True)
        server = SandboxServer(
            self.sandbox_db_path,
            port=0,
            token=SANDBOX_TOKEN,
            max_requests=self.requests_per_interval,
            interval_seconds=self.interval_seconds,
        )
        base_url = server.start()
        try:
            seeded = server.seed_companies(sandbox_seed_records(con))
            log.info(
                f"No HUBSPOT_ACCESS_TOKEN: pushing to the embedded CRM sandbox at {base_url} "
                f"({self.sandbox_db_path}), seeded with {seeded} companies"
            )
            with self._client(base_url, SANDBOX_TOKEN) as client:
                yield client
        finally:
            server.stop()


def sandbox_seed_records(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The warehouse's CRM companies in the sandbox's seed form (nulls left out)."""
    cursor = con.execute(_SANDBOX_SEED_SQL)
    names = [d[0] for d in cursor.description]
    return [
        {
            "id": values[0],
            "properties": {n: v for n, v in zip(names[1:], values[1:], strict=True) if v},
        }
        for values in cursor.fetchall()
    ]


def _relation(model: dg.AssetKey) -> str:
    """The warehouse table of a dbt model asset: its key is [schema, model]."""
    return ".".join(f'"{part}"' for part in model.path)


def read_sync_rows(
    con: duckdb.DuckDBPyConnection, model: dg.AssetKey, mapping: CrmMapping
) -> list[dict[str, Any]]:
    """The sync model's rows, after checking it has every column the mapping names."""
    columns = [row[0] for row in con.execute(f"describe {_relation(model)}").fetchall()]
    missing = missing_columns(mapping, {model.path[-1]: columns}).get(model.path[-1])
    if missing:
        raise dg.Failure(
            description=(
                f"{model.to_user_string()} lacks column(s) {', '.join(missing)} that "
                f"{DEFAULT_MAPPING_PATH.name} maps; rebuild the model or fix the mapping"
            ),
            allow_retries=False,
        )
    return rows_from_relation(con, _relation(model))


def _counts(result: SyncResult) -> dict[str, Any]:
    """The run's counts as Dagster metadata: numbers and names, nothing secret."""
    return {
        "run_id": result.run_id,
        "mode": result.mode,
        "status": result.status,
        "rows_in": result.rows_in,
        "added": result.added,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "skipped": result.skipped,
        "requests": result.requests,
        "readback_checked": result.readback_checked,
        "readback_mismatches": result.readback_mismatches,
        "created_properties": ", ".join(result.created_properties) or "none",
        "dagster/row_count": result.rows_in,
    }


def _log_rejections(log: dg.DagsterLogManager, result: SyncResult) -> None:
    for rejection in result.rejections[:LOGGED_REJECTIONS]:
        log.warning(
            f"{result.object_type} {rejection.record_id}: {rejection.operation} rejected: "
            f"{rejection.error}"
        )
    hidden = len(result.rejections) - LOGGED_REJECTIONS
    if hidden > 0:
        log.warning(f"{hidden} more rejections in crm_sync.sync_rejections (run {result.run_id})")


SyncFunction = Callable[..., SyncResult]


def upstream_marts(model: dg.AssetKey) -> list[dg.AssetKey]:
    """Every mart the sync model reads, directly or through other models.

    The push depends on them as well as on the sync model: a blocking check on
    any of them (a GX suite, say) then stops the write, which Dagster only does
    for direct dependencies.
    """
    manifest = json.loads(Path(DBT_PROJECT.manifest_path).read_text())
    nodes = manifest["nodes"]
    by_key = {
        (node["schema"], node["name"]): uid
        for uid, node in nodes.items()
        if node["resource_type"] == "model"
    }
    pending = [by_key[tuple(model.path)]]
    seen: set[str] = set()
    while pending:
        uid = pending.pop()
        for parent in nodes[uid]["depends_on"].get("nodes", []):
            if parent in nodes and parent not in seen:
                seen.add(parent)
                pending.append(parent)
    return sorted(
        dg.AssetKey([nodes[uid]["schema"], nodes[uid]["name"]])
        for uid in seen
        if nodes[uid]["resource_type"] == "model" and nodes[uid]["schema"] == "marts"
    )


def build_push_asset(
    name: str, model: dg.AssetKey, object_type: str, sync: SyncFunction
) -> dg.AssetsDefinition:
    """The asset that pushes one sync model's changed rows to the CRM."""

    @dg.asset(
        name=name,
        group_name=REVERSE_ETL_GROUP,
        owners=PUSH_OWNERS,
        deps=[model, *upstream_marts(model)],
        retry_policy=TRANSIENT_RETRY_POLICY,
        kinds={"hubspot", "python"},
        description=(
            f"Push the new and changed rows of `{model.to_user_string()}` to the CRM's "
            f"{object_type} (field mapping: {DEFAULT_MAPPING_PATH.name}). Counts of the run "
            "are in the metadata; every run and rejection is in the `crm_sync` schema."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                "readback_matches",
                asset=name,
                description="Every sampled record read back from the CRM holds what was sent.",
            )
        ],
    )
    def _push(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, crm: CrmResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        if crm.sync_mode not in MODES:
            raise dg.Failure(
                f"CRM sync mode {crm.sync_mode!r} is not one of {', '.join(MODES)}",
                allow_retries=False,
            )
        clock = time.perf_counter()
        mapping = load_mapping(DEFAULT_MAPPING_PATH)
        with warehouse.connect() as con:
            rows = read_sync_rows(con, model, mapping)
            context.log.info(
                f"Pushing {len(rows)} {object_type} rows to {crm.target()} ({crm.sync_mode})"
            )
            with crm.session(con, context.log) as client:
                result = sync(con, client, mapping, rows, crm.sync_mode)
        seconds = time.perf_counter() - clock
        _log_rejections(context.log, result)
        context.log.info(
            f"{object_type}: {result.added} added, {result.changed} changed, "
            f"{result.unchanged} unchanged, {result.rejected} rejected, "
            f"{result.requests} requests, read-back {result.readback_mismatches} of "
            f"{result.readback_checked} mismatched in {seconds:.1f}s"
        )
        yield dg.MaterializeResult(
            metadata={
                **_counts(result),
                "crm": crm.target(),
                "crm_target": crm.target_kind(),
                "duration_seconds": round(seconds, 3),
            }
        )
        yield dg.AssetCheckResult(
            check_name="readback_matches",
            passed=result.readback_mismatches == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "readback_checked": result.readback_checked,
                "readback_mismatches": result.readback_mismatches,
            },
        )

    return _push


def build_dry_run_check(model: dg.AssetKey, object_type: str) -> dg.AssetChecksDefinition:
    """Blocking: a dry run of the sync may reject at most the configured share of rows."""

    @dg.asset_check(
        asset=model,
        name="crm_dry_run_rejected_share",
        blocking=True,
        description=(
            "Dry-run the CRM sync of this model (nothing is sent) and fail, stopping the "
            "push, when the share of rows it would reject exceeds the configured maximum."
        ),
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, crm: CrmResource
    ) -> dg.AssetCheckResult:
        mapping = load_mapping(DEFAULT_MAPPING_PATH)
        sync = sync_companies if object_type == "companies" else sync_tasks
        with warehouse.connect() as con:
            rows = read_sync_rows(con, model, mapping)
            result = sync(con, None, mapping, rows, "dry_run")
        share = result.rejected / result.rows_in if result.rows_in else 0.0
        passed = share <= crm.max_dry_run_rejected_share
        if not passed:
            _log_rejections(context.log, result)
        return dg.AssetCheckResult(
            passed=passed,
            metadata={
                "rows_in": result.rows_in,
                "would_add": result.added,
                "would_change": result.changed,
                "unchanged": result.unchanged,
                "rejected": result.rejected,
                "rejected_share": share,
                "max_rejected_share": crm.max_dry_run_rejected_share,
                "dry_run_id": result.run_id,
            },
            description=(
                f"{result.rejected} of {result.rows_in} {object_type} rows would be rejected "
                f"({share:.1%}; maximum {crm.max_dry_run_rejected_share:.1%})"
            ),
        )

    return _check


def build_identity_coverage_check(model: dg.AssetKey) -> dg.AssetChecksDefinition:
    """Blocking: enough billing customers must resolve to a CRM company."""

    @dg.asset_check(
        asset=model,
        name="crm_identity_coverage",
        blocking=True,
        additional_deps=[IDENTITY_COVERAGE_MODEL],
        description=(
            "Share of billing customers identity resolution matched to a CRM company "
            "(int_account_identity_coverage); below the configured minimum the CRM would "
            "get partial numbers, so the push is stopped."
        ),
    )
    def _check(warehouse: WarehouseResource, crm: CrmResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            row = con.execute(
                "select record_count, matched_count, matched_share "
                f"from {_relation(IDENTITY_COVERAGE_MODEL)} where source_system = ?",
                [COVERAGE_SOURCE_SYSTEM],
            ).fetchone()
        records, matched, share = row if row else (0, 0, None)
        coverage = float(share) if share is not None else 0.0
        return dg.AssetCheckResult(
            passed=coverage >= crm.min_identity_coverage,
            metadata={
                "billing_customers": int(records or 0),
                "matched_to_crm_company": int(matched or 0),
                "coverage": coverage,
                "min_coverage": crm.min_identity_coverage,
            },
            description=(
                f"{matched or 0} of {records or 0} billing customers matched a CRM company "
                f"({coverage:.1%}; minimum {crm.min_identity_coverage:.1%})"
            ),
        )

    return _check


def build_crm_assets() -> list[dg.AssetsDefinition]:
    """The two push assets."""
    return [
        build_push_asset("crm_company_sync_push", COMPANY_SYNC_MODEL, "companies", sync_companies),
        build_push_asset("crm_task_sync_push", TASK_SYNC_MODEL, "tasks", sync_tasks),
    ]


def build_crm_checks() -> list[dg.AssetChecksDefinition]:
    """The blocking checks on both sync models."""
    models: Sequence[tuple[dg.AssetKey, str]] = (
        (COMPANY_SYNC_MODEL, "companies"),
        (TASK_SYNC_MODEL, "tasks"),
    )
    checks = [build_dry_run_check(model, object_type) for model, object_type in models]
    checks += [build_identity_coverage_check(model) for model, _ in models]
    return checks
