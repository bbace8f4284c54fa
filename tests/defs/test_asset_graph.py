"""The Dagster asset graph, compared line by line with a reviewed listing.

`asset_graph.txt` beside this file lists every asset (key, group, owners,
upstream keys) and every asset check (asset, name, blocking or not). A change
to the graph fails this test until the listing is regenerated and the diff
reviewed with the change:

    CS_UPDATE_ASSET_GRAPH=1 .venv/bin/pytest tests/defs/test_asset_graph.py
"""

import os
from pathlib import Path

import dagster as dg

from orchestration.definitions import build_definitions

LISTING = Path(__file__).with_name("asset_graph.txt")


def graph_listing(defs: dg.Definitions) -> list[str]:
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        if not node.is_materializable:
            lines.append(f"external {key.to_user_string()} group={node.group_name}")
            continue
        owners = ",".join(sorted(node.owners)) or "-"
        parents = ",".join(sorted(p.to_user_string() for p in node.parent_keys)) or "-"
        lines.append(
            f"asset {key.to_user_string()} group={node.group_name} owners={owners} "
            f"upstream={parents}"
        )
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key, k.name)):
        spec = graph.get_check_spec(check_key)
        blocking = "blocking" if spec.blocking else "non-blocking"
        lines.append(f"check {check_key.asset_key.to_user_string()}:{check_key.name} {blocking}")
    return lines


def test_the_asset_graph_matches_the_reviewed_listing(tmp_path):
    from orchestration.resources import WarehouseResource

    warehouse = WarehouseResource(
        duckdb_path=str(tmp_path / "warehouse.duckdb"),
        landing_dir=str(tmp_path / "landing"),
        as_of_date="2026-06-30",
    )
    actual = graph_listing(build_definitions(warehouse))
    if os.environ.get("CS_UPDATE_ASSET_GRAPH"):
        LISTING.write_text("\n".join(actual) + "\n")
    expected = LISTING.read_text().splitlines()
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    assert not missing and not unexpected, (
        f"{len(missing)} listed but gone, e.g. {missing[:5]}; "
        f"{len(unexpected)} new, e.g. {unexpected[:5]}. Regenerate with "
        "CS_UPDATE_ASSET_GRAPH=1 and review the diff."
    )


def test_every_layer_is_a_group_and_every_mart_check_family_is_attached():
    lines = LISTING.read_text().splitlines()
    groups = {part.split("=", 1)[1] for line in lines for part in line.split() if
              part.startswith("group=")}
    assert {"raw", "staging", "intermediate", "marts", "sync", "reference",
            "reverse_etl"} <= groups
    checks = [line for line in lines if line.startswith("check ")]
    for prefix in ("gx_marts_revenue__", "gx_marts_health__", "gx_marts_signals__",
                   "gx_sync_payloads__", "gx_raw_segment__", "source_freshness"):
        assert any(f":{prefix}" in line for line in checks), prefix
    # Nothing hangs off a key that no asset produces, except the loader's own
    # audit tables, which every raw load writes.
    externals = [line for line in lines if line.startswith("external ")]
    assert all(line.startswith("external loader/") for line in externals), externals
    unowned = [line.split()[1] for line in lines if " owners=- " in line]
    assert not unowned, f"assets without an owner: {unowned}"
