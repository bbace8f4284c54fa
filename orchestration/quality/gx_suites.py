"""Great Expectations suites kept as files in ``expectations/``, run on DuckDB.

A suite file is GX Core's own JSON form of an ``ExpectationSuite`` (``name``,
``expectations`` with ``type``, ``kwargs``, ``severity`` and ``meta``), with
one addition in the suite's ``meta``: ``batches``, the data each expectation
reads. A batch names the warehouse relation it validates (the Dagster asset
its check attaches to), the SQL that selects its rows, and optionally the
other relations that SQL reads. Every expectation says which batch it reads
in ``meta.batch``.

Batches are selected by DuckDB and validated by GX on a pandas frame. GX's
SQL path needs a SQLAlchemy dialect for DuckDB, and the one on PyPI does not
resolve schema-qualified tables with SQLAlchemy 2.1 (every metric fails); the
frame path keeps GX's expectations and Data Docs, and DuckDB still does the
heavy selection and aggregation, so large tables are narrowed in SQL first
(recent days, or aggregates) rather than loaded whole.

Severity carries the blocking rule: a failed ``critical`` expectation fails
its check with ERROR (blocking the CRM push downstream); ``warning`` fails
with WARN and blocks nothing.
"""

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation_configuration import (
    ExpectationConfiguration,
)

from orchestration.settings import PROJECT_DIR

SUITES_DIR = PROJECT_DIR / "expectations"
DATASOURCE = "warehouse"
AS_OF_TOKEN = "{as_of_date}"


class SuiteError(ValueError):
    """A suite file that cannot be run; the message names the file and field."""


@dataclass(frozen=True)
class Batch:
    suite: str
    name: str
    relation: str
    query: str
    description: str
    reads: tuple[str, ...]
    expectations: tuple[dict[str, Any], ...]

    @property
    def check_name(self) -> str:
        return f"gx_{self.suite}__{self.name}"

    @property
    def gx_name(self) -> str:
        """The name of the batch's suite, validation definition, checkpoint and data asset in GX."""
        return f"{self.suite}.{self.name}"

    @property
    def asset_key_path(self) -> list[str]:
        return asset_key_path(self.relation)

    @property
    def is_blocking(self) -> bool:
        return any(e.get("severity", "critical") == "critical" for e in self.expectations)

    def sql(self, as_of_date: str) -> str:
        return self.query.replace(AS_OF_TOKEN, as_of_date)


def asset_key_path(relation: str) -> list[str]:
    """The Dagster asset key of a relation: [schema, table].

    Raw tables are [source, table] (the source is the schema) and dbt models
    are [schema, model], the key dagster-dbt gives a model built in a schema.
    """
    return relation.split(".")


@dataclass
class Suite:
    name: str
    path: Path
    description: str
    batches: list[Batch] = field(default_factory=list)


def _require(mapping: dict, key: str, where: str) -> Any:
    if key not in mapping or mapping[key] in (None, "", [], {}):
        raise SuiteError(f"{where}: missing `{key}`")
    return mapping[key]


def load_suite(path: Path) -> Suite:
    """Read one suite file, checking the fields the runner relies on."""
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc})") from exc
    name = _require(raw, "name", str(path))
    meta = _require(raw, "meta", str(path))
    batch_specs = _require(meta, "batches", f"{path}: meta")
    expectations = _require(raw, "expectations", str(path))

    by_batch: dict[str, list[dict[str, Any]]] = {b: [] for b in batch_specs}
    for i, expectation in enumerate(expectations):
        where = f"{path}: expectations[{i}]"
        _require(expectation, "type", where)
        batch = _require(expectation.get("meta") or {}, "batch", f"{where}.meta")
        if batch not in by_batch:
            raise SuiteError(f"{where}.meta.batch: `{batch}` is not in meta.batches")
        severity = expectation.get("severity", "critical")
        if severity not in ("critical", "warning"):
            raise SuiteError(f"{where}.severity: `{severity}` (critical or warning)")
        by_batch[batch].append(expectation)

    suite = Suite(name=name, path=path, description=meta.get("description", ""))
    for batch_name, spec in batch_specs.items():
        where = f"{path}: meta.batches.{batch_name}"
        relation = _require(spec, "relation", where)
        if relation.count(".") != 1:
            raise SuiteError(f"{where}.relation: `{relation}` is not schema.table")
        if not by_batch[batch_name]:
            raise SuiteError(f"{where}: no expectation reads this batch")
        suite.batches.append(
            Batch(
                suite=name,
                name=batch_name,
                relation=relation,
                query=spec.get("query") or f"select * from {relation}",
                description=_require(spec, "description", where),
                reads=tuple(spec.get("reads", [])),
                expectations=tuple(by_batch[batch_name]),
            )
        )
    return suite


def load_suites(directory: Path = SUITES_DIR) -> list[Suite]:
    suites = [load_suite(p) for p in sorted(directory.glob("*.json"))]
    names = [s.name for s in suites]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SuiteError(f"{directory}: suite names used twice: {', '.join(duplicated)}")
    return suites


@dataclass(frozen=True)
class ExpectationOutcome:
    type: str
    column: str | None
    severity: str
    success: bool
    observed: Any
    unexpected_count: int | None
    partial_unexpected: list[Any]
    error: str | None

    @property
    def summary(self) -> str:
        target = f" on `{self.column}`" if self.column else ""
        if self.error:
            return f"{self.type}{target}: could not run ({self.error})"
        detail = []
        if self.observed is not None:
            detail.append(f"observed {self.observed}")
        if self.unexpected_count:
            detail.append(f"{self.unexpected_count} unexpected, e.g. {self.partial_unexpected[:3]}")
        return f"{self.type}{target}: {'; '.join(detail) or 'ok'}"


@dataclass(frozen=True)
class BatchOutcome:
    batch: Batch
    row_count: int
    outcomes: list[ExpectationOutcome]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def critical_failed(self) -> bool:
        return any(o.severity == "critical" for o in self.failed)


_CONTEXTS: dict[Path, Any] = {}


def _context(gx_dir: Path):
    # A file context keeps suites, results and Data Docs beside the warehouse
    # (git-ignored), so the HTML report survives the run that made it. Loading
    # one parses its whole YAML, so each process keeps the one it opened.
    gx_dir = gx_dir.resolve()
    if gx_dir in _CONTEXTS and (gx_dir / "gx" / "great_expectations.yml").exists():
        return _CONTEXTS[gx_dir]
    gx_dir.mkdir(parents=True, exist_ok=True)
    # GX reports usage to its vendor unless told not to; a warehouse check has
    # no business calling out, and registry-only machines cannot anyway.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
    # Progress bars write to stderr once per metric; in Dagster's log they are noise.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    _CONTEXTS[gx_dir] = context
    return context


def data_docs_index(gx_dir: Path) -> Path:
    return gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _suite_page(gx_dir: Path, batch: Batch) -> Path:
    # GX's local site keeps a suite's page under expectations/, one folder per
    # dot in the suite's name.
    site = data_docs_index(gx_dir).parent
    return site.joinpath("expectations", *batch.gx_name.split(".")).with_suffix(".html")


# Results kept per batch. GX rebuilds the Data Docs index from every stored
# result, so an unpruned store makes each refresh slower than the last.
RESULTS_KEPT = 5


def _prune_results(gx_dir: Path, asset_name: str, keep: int = RESULTS_KEPT) -> None:
    """Drop all but the newest ``keep - 1`` stored results (and their pages) of a batch."""
    uncommitted = gx_dir / "gx" / "uncommitted"
    relative = Path(*asset_name.split("."))
    for root in (uncommitted / "validations", uncommitted / "data_docs/local_site/validations"):
        for run_group in (root / relative).glob("*"):
            # Run folders are named by their UTC timestamp, so names sort by time.
            runs = sorted(p for p in run_group.iterdir() if p.is_dir())
            for old in runs[: max(len(runs) - (keep - 1), 0)]:
                shutil.rmtree(old, ignore_errors=True)


def _columns(kwargs: dict[str, Any]) -> str | None:
    """The column or columns an expectation reads, for messages."""
    if kwargs.get("column"):
        return kwargs["column"]
    if kwargs.get("column_list"):
        return ", ".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def _outcome(result) -> ExpectationOutcome:
    config = result.expectation_config
    details = result.result or {}
    error = None
    if result.exception_info:
        infos = result.exception_info
        # GX nests exception info per metric when a metric fails.
        if "exception_message" not in infos:
            infos = next(iter(infos.values()), {})
        if infos.get("raised_exception"):
            error = infos.get("exception_message")
    return ExpectationOutcome(
        type=config.type,
        column=_columns(config.kwargs),
        severity=str(getattr(config.severity, "value", config.severity or "critical")),
        success=bool(result.success),
        observed=details.get("observed_value"),
        unexpected_count=details.get("unexpected_count"),
        partial_unexpected=list(details.get("partial_unexpected_list") or []),
        error=error,
    )


# Asked of every batch's checkpoint: the summary keeps five unexpected values
# per failed expectation, enough for the check's message without bloating it.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5}


def _suite(batch: Batch) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=batch.gx_name,
        expectations=[_expectation(e) for e in batch.expectations],
        meta={"relation": batch.relation, "description": batch.description},
    )


def _definition(suite: gx.ExpectationSuite, checkpoint: gx.Checkpoint) -> dict[str, Any]:
    """What decides a checkpoint's outcome, without the ids GX assigns when storing."""
    expectations = []
    for expectation in suite.expectations:
        config = expectation.configuration.to_json_dict()
        config.pop("id", None)
        expectations.append(config)
    return {
        "expectations": expectations,
        "meta": dict(suite.meta or {}),
        "actions": [action.name for action in checkpoint.actions],
        "result_format": checkpoint.result_format,
    }


def _new_checkpoint(name: str, validations: list[gx.ValidationDefinition]) -> gx.Checkpoint:
    # No UpdateDataDocsAction: it re-renders the docs index, which reads every
    # stored result, after each batch. validate_batches renders once at its end.
    return gx.Checkpoint(
        name=name,
        validation_definitions=validations,
        actions=[],
        result_format=RESULT_FORMAT,
    )


def _checkpoint(context, batch: Batch) -> tuple[gx.Checkpoint, bool]:
    """The batch's checkpoint, and whether it was written now: it is written (with its
    suite and validation definition) only when missing or different from the suite file.

    Writing the three definitions costs about 30 ms a batch in file writes and
    serialization; reading the stored checkpoint back costs a few.
    """
    wanted = _definition(_suite(batch), _new_checkpoint(batch.gx_name, []))
    try:
        stored = context.checkpoints.get(batch.gx_name)
        (validation,) = stored.validation_definitions
        if _definition(validation.suite, stored) == wanted:
            return stored, False
    except (gx.exceptions.DataContextError, ValueError, KeyError):
        # Missing, or a definition it names is gone: write all three again.
        pass
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, gx.exceptions.DataContextError):
        datasource = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = datasource.get_asset(batch.gx_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=batch.gx_name)
    try:
        rows = asset.get_batch_definition("rows")
    except KeyError:
        rows = asset.add_batch_definition_whole_dataframe("rows")
    suite = context.suites.add_or_update(_suite(batch))
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=batch.gx_name, data=rows, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(_new_checkpoint(batch.gx_name, [validation]))
    return checkpoint, True


def validate_batches(
    frames: Iterable[tuple[Batch, pd.DataFrame]],
    gx_dir: Path,
    update_docs: bool = True,
) -> list[BatchOutcome]:
    """Validate each batch's rows with its expectations and store every result, then
    render the Data Docs pages of those results (and the index) once.

    ``frames`` may be a generator, so each batch's rows are selected only when
    its turn comes and released after.
    """
    context = _context(gx_dir)
    outcomes: list[BatchOutcome] = []
    rendered: list[Any] = []
    try:
        for batch, frame in frames:
            checkpoint, written = _checkpoint(context, batch)
            _prune_results(gx_dir, batch.gx_name)
            run = checkpoint.run(batch_parameters={"dataframe": frame})
            ((result_id, result),) = run.run_results.items()
            rendered.append(result_id)
            # A suite's page changes only with the suite: re-render it then, or when gone.
            if written or not _suite_page(gx_dir, batch).is_file():
                rendered.append(result_id.expectation_suite_identifier)
            outcomes.append(
                BatchOutcome(
                    batch=batch,
                    row_count=len(frame),
                    outcomes=[_outcome(r) for r in result.results],
                )
            )
    finally:
        # Results stored before a failure still get their pages.
        if update_docs and rendered:
            context.build_data_docs(resource_identifiers=rendered)
    return outcomes


def _expectation(spec: dict[str, Any]) -> gx.expectations.Expectation:
    # Round-trip through GX's own configuration so an unknown type or argument
    # fails with GX's message rather than silently doing nothing.
    config = ExpectationConfiguration(
        type=spec["type"],
        kwargs=spec.get("kwargs", {}),
        meta=spec.get("meta", {}),
        severity=spec.get("severity", "critical"),
    )
    return config.to_domain_obj()


def select_batch(con: duckdb.DuckDBPyConnection, batch: Batch, as_of_date: str) -> pd.DataFrame:
    try:
        return con.sql(batch.sql(as_of_date)).df()
    except duckdb.Error as exc:
        raise SuiteError(
            f"{batch.suite}.{batch.name} ({batch.relation}): the batch query failed: {exc}"
        ) from exc


def run_batches(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[Batch],
    as_of_date: str,
    gx_dir: Path,
) -> list[BatchOutcome]:
    """Validate several batches, rendering Data Docs once (tests and the benchmark)."""
    return validate_batches(
        ((b, select_batch(con, b, as_of_date)) for b in batches), gx_dir
    )
