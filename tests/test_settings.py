"""Settings: DuckDB's limits parse, validate and reach both dbt and Python connections."""

import pytest

from orchestration.resources import WarehouseResource
from orchestration.settings import default_memory_limit, load_settings


def test_duckdb_limits_parse_and_reach_dbt_env(tmp_path):
    settings = load_settings(
        {
            "CS_DUCKDB_MEMORY_LIMIT": " 2.5 GiB ",
            "CS_DUCKDB_THREADS": "3",
            "CS_DUCKDB_TEMP_DIR": str(tmp_path / "spill"),
        }
    )
    assert settings.duckdb_memory_limit == "2.5GiB"
    assert settings.duckdb_threads == 3
    env = settings.dbt_env()
    assert env["CS_DUCKDB_MEMORY_LIMIT"] == "2.5GiB"
    assert env["CS_DUCKDB_THREADS"] == "3"
    assert env["CS_DUCKDB_TEMP_DIR"] == str(tmp_path / "spill")


def test_relative_temp_dir_is_inside_the_project():
    settings = load_settings({})
    assert settings.duckdb_temp_dir.parts[-3:] == ("data", "tmp", "duckdb")
    assert settings.duckdb_temp_dir.is_absolute()


@pytest.mark.parametrize(
    ("total_bytes", "expected"),
    # A third of RAM, rounded to whole GB: 24e9 / 3 = 8e9; 16e9 / 3 = 5.33e9;
    # 2e9 / 3 = 0.67e9, below one GB, so the floor of 1 GB applies.
    [(24_000_000_000, "8GB"), (16_000_000_000, "5GB"), (2_000_000_000, "1GB")],
)
def test_default_memory_limit_is_a_third_of_ram(total_bytes, expected):
    assert default_memory_limit(total_bytes) == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CS_DUCKDB_MEMORY_LIMIT", "12", "is not a memory size"),
        ("CS_DUCKDB_MEMORY_LIMIT", "lots", "is not a memory size"),
        ("CS_DUCKDB_MEMORY_LIMIT", "0GB", "must be above 0"),
        ("CS_DUCKDB_MEMORY_LIMIT", "150%", "at most 100%"),
        ("CS_DUCKDB_THREADS", "two", "is not a whole number"),
        ("CS_DUCKDB_THREADS", "0", "must be at least 1"),
    ],
)
def test_bad_limits_name_the_variable(name, value, message):
    with pytest.raises(ValueError, match=message) as error:
        load_settings({name: value})
    assert str(error.value).startswith(f"{name}={value!r}")


def test_connection_runs_under_the_configured_limits(tmp_path):
    warehouse = WarehouseResource(
        duckdb_path=str(tmp_path / "w.duckdb"),
        landing_dir=str(tmp_path / "landing"),
        as_of_date="2026-06-30",
        memory_limit="1GiB",
        threads=1,
        temp_directory=str(tmp_path / "spill" / "duckdb"),
    )
    with warehouse.connect() as con:
        row = con.execute(
            "select current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('temp_directory'), current_setting('TimeZone')"
        ).fetchone()
    assert row == ("1.0 GiB", 1, str(tmp_path / "spill" / "duckdb"), "UTC")
    assert (tmp_path / "spill" / "duckdb").is_dir()


def test_resource_without_limits_takes_them_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_DUCKDB_MEMORY_LIMIT", "768MiB")
    monkeypatch.setenv("CS_DUCKDB_THREADS", "1")
    monkeypatch.setenv("CS_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    warehouse = WarehouseResource(
        duckdb_path=str(tmp_path / "w.duckdb"),
        landing_dir=str(tmp_path / "landing"),
        as_of_date="2026-06-30",
    )
    assert warehouse.dbt_env()["CS_DUCKDB_MEMORY_LIMIT"] == "768MiB"
    with warehouse.connect() as con:
        row = con.execute(
            "select current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
    assert row == ("768.0 MiB", 1)
