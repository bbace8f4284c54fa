"""The data dictionary fails the build when a mart column loses its description."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.settings import PROJECT_DIR

DBT = Path(sys.executable).parent / "dbt"
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "macros", "seeds", "tests/dbt")


def _copy_project(destination: Path) -> Path:
    for name in PROJECT_FILES:
        shutil.copy(PROJECT_DIR / name, destination / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(PROJECT_DIR / folder, destination / folder)
    return destination


def _build_dictionary(project: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CS_DUCKDB_PATH": str(project / "dictionary.duckdb"),
        "CS_AS_OF_DATE": "2026-06-30",
    }
    # The dictionary is compiled from the graph and reads no table, so it
    # builds on an empty warehouse.
    return subprocess.run(
        [str(DBT), "build", "--select", "data_dictionary", "--profiles-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dictionary_builds_and_fails_on_a_missing_description(tmp_path):
    project = _copy_project(tmp_path)
    built = _build_dictionary(project)
    assert built.returncode == 0, built.stdout[-3000:]

    yaml_path = project / "models/marts/revenue/_fct_account_mrr_monthly.yml"
    text = yaml_path.read_text()
    described = re.compile(r"^        description: Starting MRR.*$", re.M)
    assert described.search(text)
    yaml_path.write_text(described.sub('        description: ""', text))

    broken = _build_dictionary(project)
    assert broken.returncode != 0
    assert "not_null_data_dictionary_column_description" in broken.stdout
