"""Great Expectations suites as Dagster asset checks.

Every batch of every suite in ``expectations/`` becomes one asset check on the
relation it validates: ``gx_<suite>__<batch>``. A batch holding a ``critical``
expectation makes a blocking check, so a failure stops the assets that depend
on the checked one, the CRM push among them. Each run also refreshes the GX
Data Docs beside the warehouse, and the check's metadata links to them.
"""

from pathlib import Path

import dagster as dg

from orchestration.quality.gx_suites import (
    Batch,
    BatchOutcome,
    asset_key_path,
    data_docs_index,
    load_suites,
    select_batch,
    validate_batch,
)
from orchestration.resources import WarehouseResource


def gx_dir_for(warehouse: WarehouseResource) -> Path:
    """GX's results and Data Docs live next to the warehouse file they describe."""
    return Path(warehouse.duckdb_path).parent / "gx"


def _outcome_table(outcome: BatchOutcome) -> str:
    lines = ["| expectation | column | severity | result |", "|---|---|---|---|"]
    for o in outcome.outcomes:
        mark = "pass" if o.success else "**FAIL**"
        detail = o.summary.split(": ", 1)[-1]
        lines.append(f"| {o.type} | {o.column or ''} | {o.severity} | {mark}: {detail} |")
    return "\n".join(lines)


def check_result(outcome: BatchOutcome, docs: Path) -> dg.AssetCheckResult:
    """The Dagster view of a validated batch: pass/fail, severity and evidence."""
    failed = outcome.failed
    severity = (
        dg.AssetCheckSeverity.ERROR if outcome.critical_failed else dg.AssetCheckSeverity.WARN
    )
    metadata = {
        "suite": outcome.batch.suite,
        "batch": outcome.batch.name,
        "rows_validated": outcome.row_count,
        "expectations": len(outcome.outcomes),
        "expectations_failed": len(failed),
        "results": dg.MetadataValue.md(_outcome_table(outcome)),
        "data_docs": dg.MetadataValue.path(str(docs)),
    }
    if failed:
        metadata["failures"] = dg.MetadataValue.text(
            "\n".join(f"[{o.severity}] {o.summary}" for o in failed)
        )
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=severity,
        metadata=metadata,
        description=(
            f"{len(failed)} of {len(outcome.outcomes)} expectations failed"
            if failed
            else f"all {len(outcome.outcomes)} expectations met"
        ),
    )


def build_gx_check(batch: Batch) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(batch.asset_key_path),
        name=batch.check_name,
        description=f"GX suite `{batch.suite}`, batch `{batch.name}`: {batch.description}",
        blocking=batch.is_blocking,
        additional_deps=[dg.AssetKey(asset_key_path(r)) for r in batch.reads],
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        gx_dir = gx_dir_for(warehouse)
        with warehouse.connect() as con:
            frame = select_batch(con, batch, warehouse.as_of_date)
        outcome = validate_batch(batch, frame, gx_dir)
        for failure in outcome.failed:
            log = context.log.error if failure.severity == "critical" else context.log.warning
            log(f"{batch.check_name}: {failure.summary}")
        return check_result(outcome, data_docs_index(gx_dir))

    return _check


def build_gx_checks() -> list[dg.AssetChecksDefinition]:
    return [build_gx_check(b) for suite in load_suites() for b in suite.batches]
