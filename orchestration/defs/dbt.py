"""The dbt project as Dagster assets, grouped by layer.

Every dbt model and seed becomes an asset and every dbt test an asset check.
Groups follow the folders: ``staging``, ``intermediate``, ``marts``, ``sync``
and ``reference`` for seeds, so the graph in ``dagster dev`` reads by layer.

Each table's materialization carries its row count (``dagster/row_count``)
and dbt's execution time; ``fct_account_health_daily`` also carries a
markdown table of the health distribution on the last day the warehouse
describes, so the asset page shows how many accounts are red at a glance.
"""


import datetime as dt
import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.dbt_project import using_dagster_dev
from pydantic import Field

from orchestration.resources import WarehouseResource, environment
from orchestration.settings import PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)

HEALTH_MART = dg.AssetKey(["marts", "fct_account_health_daily"])
# Display order of the preview's rows; a band or segment not listed here (a
# new one in the seeds) follows in name order rather than being dropped.
HEALTH_BANDS = ("green", "yellow", "red")
SEGMENTS = ("smb", "mid_market", "enterprise")
# A view's count would re-run its whole query (dagster-dbt skips views for the
# same reason); an ephemeral model has no relation to count.
UNCOUNTED_MATERIALIZATIONS = frozenset({"view", "ephemeral"})

_HEALTH_DISTRIBUTION_SQL = """
select
    segment,
    health_band,
    config_version,
    count(*) as accounts,
    sum(health_score) as score_sum
from {relation}
where date_day = ?
group by all
"""

DbtEvent = TypeVar("DbtEvent")


class DbtBuildConfig(dg.Config):
    """Run options of the dbt build (the Launchpad's config of cs_warehouse_dbt)."""

    rebuild_account_days_from: str = Field(
        default="",
        description=(
            "ISO date: account-day models recompute every day from this one on, "
            "on top of what the run would rebuild anyway (docs/decisions.md, "
            "entry 18). Empty: only what new data touches."
        ),
    )

    def dbt_args(self) -> list[str]:
        """The `dbt build` arguments these options give."""
        if not self.rebuild_account_days_from:
            return ["build"]
        try:
            day = dt.date.fromisoformat(self.rebuild_account_days_from)
        except ValueError as error:
            raise dg.Failure(
                "cs_warehouse_dbt config rebuild_account_days_from: "
                f"{self.rebuild_account_days_from!r} is not an ISO date (YYYY-MM-DD)"
            ) from error
        return ["build", "--vars", json.dumps({"rebuild_account_days_from": day.isoformat()})]


def dbt_executable() -> str:
    """The dbt beside this Python, so an unactivated virtualenv still works."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def prepare_dbt_project(force: bool = False) -> None:
    """Parse the dbt project into target/manifest.json when it is needed.

    ``dagster dev`` re-parses on every reload so edits show up; other entry
    points parse once when no manifest exists yet (a fresh clone), or when
    asked to (``force``, used by ``make run``).
    """
    if force or using_dagster_dev() or not DBT_PROJECT.manifest_path.exists():
        dbt = DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())
        dbt.cli(["parse", "--quiet"], target_path=DBT_PROJECT.target_path).wait()


class LayerTranslator(DagsterDbtTranslator):
    """Asset groups from the dbt folder a node lives in; owners from its meta."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn") or []
        # fqn is [project, folder, subfolder…, name]; the folder is the layer.
        return fqn[1] if len(fqn) > 2 else "default"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        # The YAML's `meta.owner` is a team name; Dagster wants "team:<name>"
        # (or an email), so the UI shows who to ask about each asset.
        config_meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        owner = config_meta.get("owner") or (dbt_resource_props.get("meta") or {}).get("owner")
        if not owner:
            return super().get_owners(dbt_resource_props)
        return [owner if "@" in owner or owner.startswith("team:") else f"team:{owner}"]


def last_described_day(as_of_date: str) -> dt.date:
    """The day a current score belongs to: the day before the as-of date.

    The models' day spines stop before the as-of date (its data is not
    complete), so this is the day crm_company_sync reads as "now".
    """
    return dt.date.fromisoformat(as_of_date) - dt.timedelta(days=1)


def _ordered(values: set[str], preferred: Sequence[str]) -> list[str]:
    return [v for v in preferred if v in values] + sorted(values - set(preferred))


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _mean(score_sum: float, count: int) -> str:
    return f"{score_sum / count:.1f}" if count else "–"


def health_distribution_markdown(
    day: dt.date, rows: Sequence[tuple[str, str, str, int, float]]
) -> str:
    """A markdown preview of one day's health scores.

    ``rows`` are ``(segment, health_band, config_version, accounts,
    score_sum)``, one per group of the mart's rows on ``day``.
    """
    total = sum(r[3] for r in rows)
    versions = sorted({r[2] for r in rows})
    # Every known band gets a row, an empty one included, so the table's shape
    # does not change from day to day.
    bands = _ordered({r[1] for r in rows} | set(HEALTH_BANDS), HEALTH_BANDS)
    segments = _ordered({r[0] for r in rows}, SEGMENTS)

    def tally(segment: str | None = None, band: str | None = None) -> tuple[int, float]:
        picked = [r for r in rows if segment in (None, r[0]) and band in (None, r[1])]
        return sum(r[3] for r in picked), sum(r[4] for r in picked)

    overall_accounts, overall_sum = tally()
    lines = [
        f"**Health on {day.isoformat()}**, version in force: "
        f"**{', '.join(versions) or 'none'}**; {total} accounts scored, "
        f"mean score {_mean(overall_sum, overall_accounts)}.",
        "",
        "| band | accounts | share | mean score |",
        "| :-- | --: | --: | --: |",
    ]
    for band in bands:
        accounts, score_sum = tally(band=band)
        lines.append(
            f"| {band} | {accounts} | {_share(accounts, total)} | {_mean(score_sum, accounts)} |"
        )
    lines.append(f"| all | {total} | {_share(total, total)} | {_mean(overall_sum, total)} |")

    lines += [
        "",
        "| segment | accounts | " + " | ".join(bands) + " | mean score |",
        "| :-- | --: | " + " | ".join("--:" for _ in bands) + " | --: |",
    ]
    for segment in segments:
        accounts, score_sum = tally(segment=segment)
        cells = [f"{segment}", f"{accounts}"]
        for band in bands:
            in_band, _ = tally(segment=segment, band=band)
            cells.append(f"{in_band} ({_share(in_band, accounts)})")
        cells.append(_mean(score_sum, accounts))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def health_preview_metadata(
    day: dt.date, rows: Sequence[tuple[str, str, str, int, float]]
) -> dict[str, Any]:
    """The health mart's extra metadata: the preview and numbers the UI can plot."""
    total = sum(r[3] for r in rows)
    red = sum(r[3] for r in rows if r[1] == "red")
    return {
        "health_day": day.isoformat(),
        "health_config_version": ", ".join(sorted({r[2] for r in rows})) or "none",
        "health_accounts_scored": total,
        "health_red_share": red / total if total else 0.0,
        "health_distribution": dg.MetadataValue.md(health_distribution_markdown(day, rows)),
    }


def drain(events: Iterator[DbtEvent]) -> tuple[list[DbtEvent], Exception | None]:
    """Every event of a dbt run, and the error that ended it, if any."""
    collected: list[DbtEvent] = []
    try:
        for event in events:
            collected.append(event)
    except Exception as exc:  # re-raised by the caller once the events are out
        return collected, exc
    return collected, None


def _event_key(context: dg.AssetExecutionContext, event: Any) -> dg.AssetKey | None:
    if isinstance(event, dg.Output):
        return context.asset_key_for_output(event.output_name)
    if isinstance(event, dg.AssetMaterialization):
        return event.asset_key
    return None


def _relation(node: Mapping[str, Any]) -> str:
    return f'"{node["schema"]}"."{node["alias"]}"'


def post_build_metadata(
    context: dg.AssetExecutionContext,
    manifest: Mapping[str, Any],
    events: Sequence[Any],
    warehouse: WarehouseResource,
) -> dict[dg.AssetKey, dict[str, Any]]:
    """Row counts of the tables dbt built and the health preview, by asset key.

    Metadata must never fail a build: when the warehouse cannot be read (another
    process holds its lock), the events go out without it and a warning says so.
    """
    relations: dict[dg.AssetKey, str] = {}
    for event in events:
        key = _event_key(context, event)
        unique_id = event.metadata.get("unique_id") if key is not None else None
        node = manifest["nodes"].get(unique_id.value) if unique_id is not None else None
        if node and node["config"].get("materialized") not in UNCOUNTED_MATERIALIZATIONS:
            relations[key] = _relation(node)

    extra: dict[dg.AssetKey, dict[str, Any]] = {}
    day = last_described_day(warehouse.as_of_date)
    try:
        with warehouse.connect() as con:
            for key, relation in relations.items():
                (count,) = con.execute(f"select count(*) from {relation}").fetchone()
                extra[key] = {"dagster/row_count": int(count)}
            if HEALTH_MART in relations:
                rows = con.execute(
                    _HEALTH_DISTRIBUTION_SQL.format(relation=relations[HEALTH_MART]), [day]
                ).fetchall()
                extra[HEALTH_MART].update(health_preview_metadata(day, rows))
    except duckdb.Error as exc:
        context.log.warning(f"Row counts and the health preview are left out of this run: {exc}")
    return extra


def build_dbt_assets() -> dg.AssetsDefinition:
    prepare_dbt_project()

    @dbt_assets(
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        dagster_dbt_translator=LayerTranslator(),
        name="cs_warehouse_dbt",
    )
    def cs_warehouse_dbt(
        context: dg.AssetExecutionContext,
        config: DbtBuildConfig,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
    ):
        # dbt reads the warehouse path and as-of date from the environment
        # (profiles.yml, dbt_project.yml); give it the resource's values.
        with environment(warehouse.dbt_env()):
            invocation = dbt.cli(config.dbt_args(), context=context)
            # Row counts need the tables, and dbt holds the DuckDB file locked
            # until it exits; dbt-duckdb reports no rows_affected either. So the
            # events wait for dbt to finish (dbt's own log still streams live),
            # then go out with their counts. dagster-dbt's fetch_row_counts()
            # waits the same way but leaves a read-only DuckDB connection open
            # in this process, after which the CRM pushes, in the same process,
            # cannot open the file to write. On the demo warehouse (500
            # accounts) counting 53 tables takes under 0.1s and the step is no
            # slower; materializations show when dbt ends (about 45s into the
            # step) instead of as each model finishes.
            events, error = drain(invocation.stream())
        clock = time.perf_counter()
        extra = post_build_metadata(context, invocation.manifest, events, warehouse)
        context.log.info(
            f"Row counts of {len(extra)} tables read in {time.perf_counter() - clock:.2f}s "
            "after dbt finished"
        )
        for event in events:
            key = _event_key(context, event)
            if key in extra:
                event = event.with_metadata({**event.metadata, **extra[key]})
            yield event
        if error is not None:
            raise error

    return cs_warehouse_dbt
