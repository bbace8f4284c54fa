"""Great Expectations suites as Dagster asset checks.

Every batch of every suite in ``expectations/`` becomes one asset check on the
relation it validates: ``gx_<suite>__<batch>``. A batch holding a ``critical``
expectation makes a blocking check, so a failure stops the assets that depend
on the checked one, the CRM push among them. The check's metadata links to the
GX Data Docs beside the warehouse.

The checks of a suite run in one step, ``gx_<suite>`` (a multi-asset check),
and the step renders the Data Docs once after its last batch: a step costs
Dagster and GX a fixed overhead, and rendering the docs index reads every
stored result, so one step per batch took twice as long. Batches on a
partitioned raw table (``segment.tracks``) run in a step of their own,
``gx_<suite>__<schema>_<table>``, so that step waits only for the table's own
load. A step runs only the checks a run selects.

Failing together has one consequence: when a blocking check fails, the whole
step fails, so everything waiting on any blocking check of that step is held
back, not only what reads the failed check's asset: a failed blocking check on
any mart of a suite holds back each CRM push that reads a mart of that suite.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from orchestration.defs.raw import PARTITIONED_TABLES
from orchestration.quality.gx_suites import (
    Batch,
    BatchOutcome,
    SuiteError,
    asset_key_path,
    data_docs_index,
    load_suites,
    select_batch,
    validate_batches,
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
        asset_key=dg.AssetKey(outcome.batch.asset_key_path),
        check_name=outcome.batch.check_name,
        passed=outcome.success,
        severity=severity,
        metadata=metadata,
        description=(
            f"{len(failed)} of {len(outcome.outcomes)} expectations failed"
            if failed
            else f"all {len(outcome.outcomes)} expectations met"
        ),
    )


def check_key(batch: Batch) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(batch.asset_key_path), batch.check_name)


def check_spec(batch: Batch) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=batch.check_name,
        asset=dg.AssetKey(batch.asset_key_path),
        description=f"GX suite `{batch.suite}`, batch `{batch.name}`: {batch.description}",
        blocking=batch.is_blocking,
        additional_deps=[dg.AssetKey(asset_key_path(r)) for r in batch.reads],
    )


def step_name(batch: Batch) -> str:
    """The step that runs a batch's check: its suite's, or its partitioned table's."""
    schema, table = batch.relation.split(".")
    if (schema, table) in PARTITIONED_TABLES:
        return f"gx_{batch.suite}__{schema}_{table}"
    return f"gx_{batch.suite}"


def build_gx_step(name: str, batches: list[Batch]) -> dg.AssetChecksDefinition:
    """One step validating several batches, yielding one check result per batch."""

    @dg.multi_asset_check(
        name=name,
        specs=[check_spec(b) for b in batches],
        description=f"GX batches {', '.join(b.name for b in batches)} of `{batches[0].suite}`.",
        # A run may select some of the checks (a test, a re-run of one check).
        can_subset=True,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = [b for b in batches if check_key(b) in context.selected_asset_check_keys]
        gx_dir = gx_dir_for(warehouse)
        broken: list[str] = []
        with warehouse.connect() as con:

            def frames():
                # A batch whose query fails yields no result; the others still run.
                for batch in selected:
                    try:
                        yield batch, select_batch(con, batch, warehouse.as_of_date)
                    except SuiteError as exc:
                        context.log.error(str(exc))
                        broken.append(str(exc))

            outcomes = validate_batches(frames(), gx_dir)

        docs = data_docs_index(gx_dir)
        for outcome in outcomes:
            for failure in outcome.failed:
                log = context.log.error if failure.severity == "critical" else context.log.warning
                log(f"{outcome.batch.check_name}: {failure.summary}")
            yield check_result(outcome, docs)
        if broken:
            raise dg.Failure(description="\n".join(broken), allow_retries=False)

    return _checks


def build_gx_checks() -> list[dg.AssetChecksDefinition]:
    steps: dict[str, list[Batch]] = {}
    for suite in load_suites():
        for batch in suite.batches:
            steps.setdefault(step_name(batch), []).append(batch)
    return [build_gx_step(name, batches) for name, batches in steps.items()]
