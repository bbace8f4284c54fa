"""Segment ``tracks`` at any volume: spilled per batch of accounts, written per day.

Events are generated a batch of accounts at a time (``generator.py``); each
batch's numeric columns are sorted by the day the event was received and
saved as raw arrays in a scratch folder, so memory holds one batch, not the
whole history. ``write_tracks`` then reads every batch's slice of one day and
writes that day's Parquet file.

The landing layout is Hive style, one folder per day::

    <landing>/segment/tracks/event_date=YYYY-MM-DD/part-0000.parquet

The folder's date is the UTC day Segment *received* the event (its
``received_at``), not the day it happened: a connector delivers what arrived
that day, so an event sent late by an offline device lands in a later day's
folder. That is what a daily partitioned load with a lookback window has to
cope with. (The folder is named ``event_date`` after Segment's own S3 export.)

Column types: ``timestamp`` stays text because the client sends it and some
values are garbage (the malformed-timestamp defect); ``sent_at`` and
``received_at`` are stamped by Segment's servers and are typed UTC
timestamps; the rest is text. Files are written with fixed writer options and
no wall-clock metadata, so the same seed gives the same bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .common import DAY, format_timestamps, hashed_uuids
from .usage import EVENT_NAMES, EVENT_TEXTS, Events, Users, malformed_text

PARTITION_COLUMN = "event_date"
PART_NAME = "part-0000.parquet"

# Fixed writer options: byte-stable output for a given pyarrow version. zstd at
# its default level is about as fast to write as snappy here and a third smaller.
PARQUET_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1 << 20,
    "data_page_version": "1.0",
}

TRACKS_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("anonymous_id", pa.string()),
    ("user_id", pa.string()),
    ("event", pa.string()),
    ("event_text", pa.string()),
    ("timestamp", pa.string()),
    ("sent_at", pa.timestamp("ms", tz="UTC")),
    ("received_at", pa.timestamp("ms", tz="UTC")),
])

_FIELDS = tuple(Events.__dataclass_fields__)
WRITER_THREADS = 2


def partition_folder(day: np.datetime64 | str) -> str:
    """``event_date=YYYY-MM-DD``: the Hive-style folder of one received day."""
    return f"{PARTITION_COLUMN}={np.datetime64(day, 'D')}"


@dataclass
class _Batch:
    folder: Path
    days: np.ndarray  # int64 day numbers present in the batch, ascending
    starts: np.ndarray  # offset of each day's first row; one extra entry at the end
    dtypes: dict[str, np.dtype]

    def day_slice(self, day: int) -> Events | None:
        """The batch's rows of one day, read from its files (not memory-mapped).

        Plain reads keep the resident memory at one day's rows: mapped pages
        would count towards the process's memory until the kernel reclaims them.
        """
        at = np.searchsorted(self.days, day)
        if at == self.days.shape[0] or self.days[at] != day:
            return None
        lo, hi = int(self.starts[at]), int(self.starts[at + 1])
        return Events(*(
            np.fromfile(self.folder / f"{f}.bin", dtype=self.dtypes[f], count=hi - lo,
                        offset=lo * self.dtypes[f].itemsize)
            for f in _FIELDS
        ))


class TracksSpill:
    """Numeric events of every batch on disk, keyed and numbered globally."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir(parents=True)
        self._batches: list[_Batch] = []
        self.next_key = 0

    def add(self, events: Events, user_offset: int) -> None:
        """Store one batch; its keys and user indexes are moved past the earlier batches'."""
        if len(events) == 0:
            return
        events.key = events.key + self.next_key
        events.user = events.user + np.int32(user_offset)
        self.next_key = int(events.key.max()) + 1
        received = events.ts + events.received
        day = received // DAY
        order = np.lexsort((events.key, received))
        day = day[order]
        folder = self.scratch / f"batch-{len(self._batches):05d}"
        folder.mkdir()
        dtypes = {}
        for name in _FIELDS:
            column = getattr(events, name)[order]
            column.tofile(folder / f"{name}.bin")
            dtypes[name] = column.dtype
        days, starts = np.unique(day, return_index=True)
        self._batches.append(
            _Batch(folder, days, np.append(starts, day.shape[0]).astype(np.int64), dtypes)
        )

    def days(self) -> np.ndarray:
        if not self._batches:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([b.days for b in self._batches]))

    def day_events(self) -> Iterator[tuple[int, Events]]:
        """(day number, that day's events ordered by received time then key), day by day."""
        for day in self.days().tolist():
            parts = [p for p in (b.day_slice(day) for b in self._batches) if p is not None]
            events = Events.concat(parts)
            received = events.ts + events.received
            yield day, events.take(np.lexsort((events.key, received)))

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def day_table(events: Events, users: Users, anonymous: np.ndarray, salt: int) -> pa.Table:
    """One day's events as the Arrow table of its landing file."""
    stamp = format_timestamps(events.ts)
    broken = np.flatnonzero(events.malformed)
    if broken.shape[0]:
        stamp[broken] = malformed_text(events.ts[broken], events.malformed[broken])
    text = [
        hashed_uuids(events.key, salt),
        anonymous[events.user],
        users.user_id[events.user],
        EVENT_NAMES[events.code],
        EVENT_TEXTS[events.code],
        stamp,
    ]
    arrays = [pa.array(column).cast(pa.string()) for column in text]
    for offset in (events.sent, events.received):
        millis = (events.ts + offset.astype(np.int64)) * 1000
        arrays.append(pa.array(millis, type=pa.timestamp("ms", tz="UTC")))
    return pa.Table.from_arrays(arrays, schema=TRACKS_SCHEMA)


def write_day(table: pa.Table, table_dir: Path, day: int) -> Path:
    folder = table_dir / partition_folder(np.datetime64(day, "D"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PART_NAME
    pq.write_table(table, path, **PARQUET_OPTIONS)
    return path


def write_tracks(spill: TracksSpill, users: Users, table_dir: Path, salt: int) -> int:
    """Write one Parquet file per received day into ``table_dir``; return the row count.

    Days are rendered here and compressed and written by two threads (pyarrow
    releases the GIL while it encodes), so rendering the next day overlaps
    writing the last one. Every file depends on its day alone, so the bytes do
    not depend on the order the threads finish in.
    """
    anonymous = hashed_uuids(np.arange(users.user_id.shape[0]), salt + 1)
    rows = 0
    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
        pending: list[Future] = []
        for day, events in spill.day_events():
            table = day_table(events, users, anonymous, salt)
            rows += len(events)
            pending.append(pool.submit(write_day, table, table_dir, day))
            # Bound the tables waiting in memory to a few days' worth.
            while len(pending) > 2 * WRITER_THREADS:
                pending.pop(0).result()
        for future in pending:
            future.result()
    return rows
