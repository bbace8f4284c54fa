"""Small helpers shared by the generator stages: time arithmetic, ids, RNG streams.

Every instant inside the generator is an ``int`` (or ``int64`` array) of seconds
since the Unix epoch, UTC. Keeping time numeric makes the event generation
vectorisable and the output reproducible; text is produced only when a file is
written (see ``writer.py``).
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np

DAY = 86_400
HOUR = 3_600
MINUTE = 60

# Fivetran's "open ended" marker for the current version of a history table.
END_OF_TIME = int(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp())

# Stream ids for ``stage_rng``: each stage draws from its own stream, so changing
# how one stage uses randomness does not reshuffle every other table.
STREAM_ACCOUNTS = 1
STREAM_BILLING = 2
STREAM_CRM = 3
STREAM_USAGE = 4
STREAM_SUPPORT = 5
STREAM_SURVEYS = 6
STREAM_FINANCE = 7
STREAM_DEFECTS = 8
STREAM_IDS = 9
STREAM_DISCOUNTS = 10


def stage_rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    """An independent, reproducible generator for one stage (and optionally one key)."""
    return np.random.default_rng([seed, stream, *keys])


def epoch(value: dt.date | dt.datetime) -> int:
    """Seconds since the epoch of a date (midnight UTC) or an aware/naive-UTC datetime."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def to_datetime(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def add_months(anchor: int, months: int) -> int:
    """``anchor`` moved by whole months, clamping the day like Stripe billing does.

    Always computed from the original anchor (Jan 31 -> Feb 28 -> Mar 31), never
    iteratively, so a billing cycle never drifts to an earlier day of the month.
    """
    moment = to_datetime(anchor)
    month_index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return epoch(moment.replace(year=year, month=month + 1, day=day))


def month_start(ts: int) -> int:
    moment = to_datetime(ts)
    return epoch(dt.date(moment.year, moment.month, 1))


def format_timestamps(values: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC text (``2025-03-01T14:05:09Z``) for an int64 array of epoch seconds.

    Pure integer arithmetic on a fixed-width byte buffer: about ten times faster
    than ``strftime`` per value and independent of locale or timezone settings.
    Returns a numpy ``S20`` array.
    """
    ts = np.asarray(values, dtype=np.int64)
    days, secs = np.divmod(ts, DAY)
    # Civil date from a day number (H. Hinnant's algorithm), vectorised.
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    hour, rest = np.divmod(secs, HOUR)
    minute, second = np.divmod(rest, MINUTE)

    zero = ord("0")
    out = np.empty((ts.shape[0], 20), dtype=np.uint8)
    out[:, 0] = year // 1000 + zero
    out[:, 1] = year // 100 % 10 + zero
    out[:, 2] = year // 10 % 10 + zero
    out[:, 3] = year % 10 + zero
    out[:, 5] = month // 10 + zero
    out[:, 6] = month % 10 + zero
    out[:, 8] = day // 10 + zero
    out[:, 9] = day % 10 + zero
    out[:, 11] = hour // 10 + zero
    out[:, 12] = hour % 10 + zero
    out[:, 14] = minute // 10 + zero
    out[:, 15] = minute % 10 + zero
    out[:, 17] = second // 10 + zero
    out[:, 18] = second % 10 + zero
    out[:, [4, 7]] = ord("-")
    out[:, 10] = ord("T")
    out[:, [13, 16]] = ord(":")
    out[:, 19] = ord("Z")
    return out.view("S20").ravel()


def format_timestamp(ts: int) -> str:
    return format_timestamps(np.array([ts]))[0].decode()


_BASE62 = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def random_ids(rng: np.random.Generator, prefix: str, count: int, length: int = 14) -> list[str]:
    """Stripe-style ids (``cus_9fQ2...``): a prefix and base62 characters, unique."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        need = count - len(out)
        chars = _BASE62[rng.integers(0, 62, size=(need, length))]
        for raw in chars.view(f"S{length}").ravel():
            candidate = prefix + raw.decode()
            if candidate not in seen:
                seen.add(candidate)
                out.append(candidate)
    return out


def unique_integers(rng: np.random.Generator, low: int, high: int, count: int) -> np.ndarray:
    """``count`` distinct integers in ``[low, high)``, in random order."""
    return low + rng.choice(high - low, size=count, replace=False)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """A fast, well-mixing 64-bit hash (SplitMix64's finaliser), vectorised."""
    z = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hashed_uuids(keys: np.ndarray, salt: int) -> np.ndarray:
    """UUID-shaped message ids derived from integer keys (``S36`` array).

    An event's id is a pure function of its key, so a duplicated event row can
    carry the very same id without storing 36 bytes per event while generating.
    """
    keys = np.asarray(keys, dtype=np.uint64)
    with np.errstate(over="ignore"):
        salted = keys * np.uint64(0xD1B54A32D192ED03) + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    high = _splitmix64(salted)
    low = _splitmix64(high ^ np.uint64(0x5851F42D4C957F2D))
    raw = np.empty((keys.shape[0], 16), dtype=np.uint8)
    raw[:, :8] = high.view(np.uint8).reshape(-1, 8)
    raw[:, 8:] = low.view(np.uint8).reshape(-1, 8)
    # Mark the ids as RFC 4122 version 4 so they look like what SDKs send.
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.empty((keys.shape[0], 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 15]
    out = np.full((keys.shape[0], 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = hexed[:, 0:8]
    out[:, 9:13] = hexed[:, 8:12]
    out[:, 14:18] = hexed[:, 12:16]
    out[:, 19:23] = hexed[:, 16:20]
    out[:, 24:36] = hexed[:, 20:32]
    return out.view("S36").ravel()


def working_time(rng: np.random.Generator, count: int, busy_share: float = 0.88) -> np.ndarray:
    """Seconds after midnight UTC, mostly inside office hours.

    A share of the values falls in a bell around early afternoon UTC (the
    customer base straddles Europe and the Americas); the rest anywhere in the day.
    """
    busy = rng.normal(14.0 * HOUR, 2.6 * HOUR, size=count)
    busy = np.clip(busy, 6 * HOUR, 22 * HOUR - 1)
    anytime = rng.uniform(0, DAY - 1, size=count)
    pick = rng.random(count) < busy_share
    return np.where(pick, busy, anytime).astype(np.int64)


def weighted_choice(rng: np.random.Generator, options: list, weights: list[float]):
    """One option drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]
