"""The landing-file loader: idempotency, quarantine, atomicity, clear errors; CSV and Parquet."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.demo_data.tracks import TRACKS_SCHEMA
from orchestration.ingest import loader
from orchestration.ingest.contracts import load_contracts

HEADER = "id,anonymous_id,user_id,event,event_text,timestamp,sent_at,received_at"


def _row(event_id: str, timestamp: str = "2026-01-05T10:00:00Z", user: str = "usr_1") -> str:
    return (
        f"{event_id},,{user},report_created,Report Created,{timestamp},"
        "2026-01-05T10:00:01Z,2026-01-05T10:00:03Z"
    )


def _write(landing: Path, name: str, lines: list[str], table: str = "tracks") -> Path:
    path = landing / "segment" / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def segment():
    return load_contracts()["segment"]


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture()
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def _rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_loads_typed_rows_with_lineage(con, landing, segment):
    _write(landing, "2026-01.csv", [HEADER, _row("e1"), _row("e2", "2026-01-05T12:00:00+02:00")])

    report = loader.load_source(con, segment, landing)

    assert report.rows_loaded("tracks") == 2
    rows = _rows(
        con, "select id, timestamp, _loaded_file, _loaded_line from segment.tracks order by id"
    )
    assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [
        ("e1", "2026-01-05 10:00:00", "segment/tracks/2026-01.csv", 2),
        # An explicit offset is converted to UTC, not dropped.
        ("e2", "2026-01-05 10:00:00", "segment/tracks/2026-01.csv", 3),
    ]


def test_reloading_the_same_file_changes_nothing(con, landing, segment):
    _write(landing, "2026-01.csv", [HEADER, _row("e1"), _row("e2")])
    loader.load_source(con, segment, landing)
    before = _rows(con, "select * exclude (_loaded_at) from segment.tracks order by id")

    second = loader.load_source(con, segment, landing)

    assert [f.status for f in second.files if f.table == "tracks"] == ["unchanged"]
    assert _rows(con, "select * exclude (_loaded_at) from segment.tracks order by id") == before
    loaded = _rows(con, "select count(*) from loader.load_audit where status = 'loaded'")
    assert loaded == [(1,)]


def test_a_changed_file_replaces_its_earlier_rows(con, landing, segment):
    path = _write(landing, "2026-01.csv", [HEADER, _row("e1"), _row("e2")])
    _write(landing, "2026-02.csv", [HEADER, _row("e9")])
    loader.load_source(con, segment, landing)

    path.write_text("\n".join([HEADER, _row("e1"), _row("e3")]) + "\n")
    loader.load_source(con, segment, landing)

    assert _rows(con, "select id from segment.tracks order by id") == [("e1",), ("e3",), ("e9",)]


def test_bad_rows_are_quarantined_with_file_line_and_reason(con, landing, segment):
    _write(
        landing,
        "2026-01.csv",
        [
            HEADER,
            _row("e1"),
            _row("e2", timestamp="2026-02-30T10:00:00Z"),  # line 3: no such day
            _row("e3") + ",surplus",  # line 4: one field too many
            _row(""),  # line 5: empty primary key
            _row("e5"),  # line 6
        ],
    )

    report = loader.load_source(con, segment, landing)

    assert report.rows_loaded("tracks") == 2
    assert report.rows_quarantined("tracks") == 3
    assert _rows(con, "select id, _loaded_line from segment.tracks order by id") == [
        ("e1", 2),
        ("e5", 6),
    ]
    quarantined = _rows(
        con, "select file_path, line_number, reason from loader.quarantine order by line_number"
    )
    assert [(f, n) for f, n, _ in quarantined] == [
        ("segment/tracks/2026-01.csv", 3),
        ("segment/tracks/2026-01.csv", 4),
        ("segment/tracks/2026-01.csv", 5),
    ]
    reasons = [r for *_, r in quarantined]
    assert "column timestamp: cannot parse \"2026-02-30T10:00:00Z\" as timestamp" in reasons[0]
    assert "Expected Number of Columns" in reasons[1]
    assert reasons[2] == "column id: primary key is empty"


def test_missing_required_column_names_file_and_column(con, landing, segment):
    good = _write(landing, "2026-01.csv", [HEADER, _row("e1")])
    bad = _write(
        landing,
        "2026-02.csv",
        ["id,user_id,event,received_at", "e7,usr_1,logged_in,2026-02-01T00:00:00Z"],
    )

    report = loader.load_source(con, segment, landing)

    [failure] = report.failures
    assert str(bad) in failure.error
    assert "'timestamp'" in failure.error
    # The readable file still loaded: one broken file loses nothing valid.
    assert _rows(con, "select _loaded_file from segment.tracks") == [
        (good.relative_to(landing).as_posix(),)
    ]
    assert _rows(con, "select status from loader.load_audit where file_path like '%02.csv'") == [
        ("failed",)
    ]


def test_unreadable_file_names_the_file(con, landing, segment):
    path = landing / "segment" / "tracks" / "2026-03.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(range(256)) * 64)

    with pytest.raises(loader.LandingFileError, match="2026-03.csv"):
        loader.load_file(con, segment.table("tracks"), path, landing)


def test_new_columns_are_accepted_as_text(con, landing, segment):
    _write(landing, "2026-01.csv", [HEADER + ",context_ip", _row("e1") + ",10.0.0.1"])

    loader.load_source(con, segment, landing)

    assert _rows(con, "select id, context_ip from segment.tracks") == [("e1", "10.0.0.1")]


def test_failure_mid_load_leaves_nothing_behind(con, landing, segment, monkeypatch):
    _write(landing, "2026-01.csv", [HEADER, _row("e1"), _row("e2", timestamp="bad")])

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    # Rows and quarantine are written by now; the audit row would come next.
    monkeypatch.setattr(loader, "_audit", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        loader.load_source(con, segment, landing)

    assert _rows(con, "select count(*) from segment.tracks") == [(0,)]
    assert _rows(con, "select count(*) from loader.quarantine") == [(0,)]
    assert _rows(con, "select count(*) from loader.load_audit") == [(0,)]


def test_process_killed_mid_load_leaves_nothing_behind(tmp_path, landing):
    """A hard crash (no rollback, no cleanup) between two writes of one file."""
    _write(landing, "2026-01.csv", [HEADER, _row("e1"), _row("e2")])
    database = tmp_path / "killed.duckdb"
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        import duckdb
        from orchestration.ingest import loader
        from orchestration.ingest.contracts import load_contracts

        original = loader._insert_rows
        def insert_then_die(*args, **kwargs):
            original(*args, **kwargs)
            os._exit(9)
        loader._insert_rows = insert_then_die
        con = duckdb.connect({str(database)!r})
        loader.load_source(con, load_contracts()["segment"], Path({str(landing)!r}))
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.returncode == 9, completed.stderr

    with duckdb.connect(str(database)) as con:
        assert con.execute("select count(*) from segment.tracks").fetchone() == (0,)
        assert con.execute("select count(*) from loader.load_audit").fetchone() == (0,)
        # After the crash the same file loads normally.
        report = loader.load_source(con, load_contracts()["segment"], landing)
        assert report.rows_loaded("tracks") == 2


# Parquet, in Hive-style partition folders ------------------------------------

def _parquet(landing: Path, day: str, rows: list[tuple]) -> Path:
    """A tracks file as the generator writes it: text, except Segment's own timestamps."""
    path = landing / "segment" / "tracks" / f"event_date={day}" / "part-0000.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(zip(*rows)) if rows else [[]] * len(TRACKS_SCHEMA)
    table = pa.Table.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns, TRACKS_SCHEMA)],
        schema=TRACKS_SCHEMA,
    )
    pq.write_table(table, path)
    return path


def _event(event_id: str | None, timestamp: str, received: str) -> tuple:
    at = dt.datetime.fromisoformat(received)
    return (event_id, None, "usr_1", "logged_in", "Logged In", timestamp, at, at)


def test_parquet_rows_load_typed_and_bad_rows_are_quarantined_by_row(con, landing, segment):
    path = _parquet(landing, "2026-01-05", [
        _event("e1", "2026-01-05T09:00:00Z", "2026-01-05T09:00:03+00:00"),
        _event("e2", "2026-02-30T09:00:00Z", "2026-01-05T09:00:04+00:00"),  # row 2
        _event(None, "2026-01-05T09:00:00Z", "2026-01-05T09:00:05+00:00"),  # row 3
        _event("e4", "2026-01-04T23:00:00+01:00", "2026-01-05T09:00:06+00:00"),
    ])

    report = loader.load_source(con, segment, landing)

    assert (report.rows_loaded("tracks"), report.rows_quarantined("tracks")) == (2, 2)
    rows = _rows(con, "select id, timestamp, received_at, _loaded_file, _loaded_line "
                      "from segment.tracks order by id")
    relative = path.relative_to(landing).as_posix()
    assert [(r[0], str(r[1]), str(r[2]), r[3], r[4]) for r in rows] == [
        ("e1", "2026-01-05 09:00:00", "2026-01-05 09:00:03", relative, 1),
        # The offset is honoured; the UTC timestamp column is taken as it is.
        ("e4", "2026-01-04 22:00:00", "2026-01-05 09:00:06", relative, 4),
    ]
    quarantined = _rows(con, "select file_path, line_number, reason, raw_record "
                             "from loader.quarantine order by line_number")
    assert [(f, n) for f, n, *_ in quarantined] == [(relative, 2), (relative, 3)]
    assert quarantined[0][2] == (
        'column timestamp: cannot parse "2026-02-30T09:00:00Z" as timestamp')
    assert quarantined[1][2] == "column id: primary key is empty"
    assert '"id":"e2"' in quarantined[0][3].replace(" ", "")
    # The partition folder's name is not a column of the raw table.
    columns = [r[0] for r in _rows(con, "describe segment.tracks")]
    assert "event_date" not in columns

    again = loader.load_source(con, segment, landing)
    assert [f.status for f in again.files if f.table == "tracks"] == ["unchanged"]
    assert _rows(con, "select count(*) from segment.tracks") == [(2,)]


def test_a_partition_loads_only_its_own_folder(con, landing, segment):
    _parquet(landing, "2026-01-05", [_event("a", "2026-01-05T09:00:00Z", "2026-01-05T09:00:01")])
    _parquet(landing, "2026-01-06", [_event("b", "2026-01-06T09:00:00Z", "2026-01-06T09:00:01"),
                                     # Happened the day before, arrived on the 6th.
                                     _event("c", "2026-01-05T23:00:00Z", "2026-01-06T08:00:00")])
    _write(landing, "2026-01.csv", [HEADER, _row("flat")])

    assert loader.table_partitions(landing, "segment", "tracks") == ["2026-01-05", "2026-01-06"]
    report = loader.load_source(con, segment, landing, tables=["tracks"], partitions=["2026-01-06"])

    assert [f.file for f in report.files] == [
        "segment/tracks/event_date=2026-01-06/part-0000.parquet"]
    assert _rows(con, "select id from segment.tracks order by id") == [("b",), ("c",)]

    # Without a partition, everything not loaded yet loads, and nothing twice.
    loader.load_source(con, segment, landing, tables=["tracks"])
    assert _rows(con, "select id from segment.tracks order by id") == [
        ("a",), ("b",), ("c",), ("flat",)]


def test_an_unreadable_parquet_file_names_the_file(con, landing, segment):
    path = landing / "segment" / "tracks" / "event_date=2026-01-05" / "part-0000.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PAR1 but not really")

    report = loader.load_source(con, segment, landing, tables=["tracks"])

    [failure] = report.failures
    assert "event_date=2026-01-05/part-0000.parquet" in failure.error
    assert "cannot be read as Parquet" in failure.error


def test_parquet_files_loaded_together_are_audited_one_by_one(con, landing, segment):
    _parquet(landing, "2026-01-05", [_event("a", "2026-01-05T09:00:00Z", "2026-01-05T09:00:01"),
                                     _event("x", "not-a-date", "2026-01-05T09:00:02")])
    changed = _parquet(landing, "2026-01-06", [
        _event("b", "2026-01-06T09:00:00Z", "2026-01-06T09:00:01")])

    loader.load_source(con, segment, landing, tables=["tracks"])
    audit = "select file_path, rows_loaded, rows_quarantined from loader.load_audit order by 1"
    assert _rows(con, audit) == [
        ("segment/tracks/event_date=2026-01-05/part-0000.parquet", 1, 1),
        ("segment/tracks/event_date=2026-01-06/part-0000.parquet", 1, 0),
    ]

    # A re-delivered day replaces its earlier rows, and only those.
    pq.write_table(pa.Table.from_pylist(
        [dict(zip(TRACKS_SCHEMA.names, _event(i, "2026-01-06T10:00:00Z", "2026-01-06T10:00:01")))
         for i in ("b", "c")], schema=TRACKS_SCHEMA), changed)
    report = loader.load_source(con, segment, landing, tables=["tracks"])

    assert [f.status for f in report.files] == ["unchanged", "loaded"]
    assert _rows(con, "select id, _loaded_line from segment.tracks order by id") == [
        ("a", 1), ("b", 1), ("c", 2)]
    assert _rows(con, "select line_number, reason from loader.quarantine") == [
        (2, 'column timestamp: cannot parse "not-a-date" as timestamp')]


def test_a_failure_mid_batch_leaves_no_file_of_the_batch_behind(con, landing, segment,
                                                                 monkeypatch):
    for day in ("2026-01-05", "2026-01-06"):
        _parquet(landing, day, [_event(day, f"{day}T09:00:00Z", f"{day}T09:00:01")])
    real_audit, calls = loader._audit, []

    def audit_then_crash(*args, **kwargs):
        calls.append(args[1].file)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_audit(*args, **kwargs)

    # The first file's audit row is written when the second one's fails.
    monkeypatch.setattr(loader, "_audit", audit_then_crash)
    with pytest.raises(RuntimeError, match="disk full"):
        loader.load_source(con, segment, landing, tables=["tracks"])

    assert len(calls) == 2
    for table in ("segment.tracks", "loader.load_audit", "loader.quarantine"):
        assert _rows(con, f"select count(*) from {table}") == [(0,)], table
