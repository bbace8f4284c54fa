"""Segment product usage: users (``groups``) and events (``tracks``), vectorised per account.

For each account a users x days matrix of activity probabilities is built from
the account's story (ramp-up after signup, weekday rhythm, holidays, decline in
the ~90 days before churn, silence after churn, return on reactivation) and each
user's own propensity. Active user-days are drawn at once, each becomes a
session of ``1 + Poisson`` events, and the events of all sessions are laid out
with ``np.repeat`` and cumulative gaps: no Python loop per user or event.

Events stay numeric (user index, event code, epoch seconds, small deltas) until
a day's Parquet file is written (``tracks.py``); ids are derived from the
event's key by hashing, so an exact duplicate row shares its original's id for
free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .accounts import CHURNER, DOWNGRADER, EXPANDER, HEALTHY, STALLED, TRIAL_EXPIRED, Account
from .common import DAY, MINUTE, format_timestamps, hashed_uuids, working_time

EVENTS = [
    ("logged_in", "Logged In"),
    ("dashboard_viewed", "Dashboard Viewed"),
    ("report_created", "Report Created"),
    ("report_shared", "Report Shared"),
    ("workflow_automated", "Workflow Automated"),
    ("integration_connected", "Integration Connected"),
    ("export_downloaded", "Export Downloaded"),
    ("invite_sent", "Invite Sent"),
    ("api_key_created", "API Key Created"),
    # Onboarding milestones, done once per account, in this order.
    ("account_setup_completed", "Account Setup Completed"),
    ("data_source_connected", "Data Source Connected"),
    ("teammate_invited", "Teammate Invited"),
    ("first_report_published", "First Report Published"),
]
EVENT_CODE = {name: code for code, (name, _) in enumerate(EVENTS)}
EVENT_NAMES = np.array([name.encode() for name, _ in EVENTS])
EVENT_TEXTS = np.array([text.encode() for _, text in EVENTS])
LOGGED_IN, DASHBOARD_VIEWED = EVENT_CODE["logged_in"], EVENT_CODE["dashboard_viewed"]
KEY_FEATURES = np.array(
    [EVENT_CODE["report_created"], EVENT_CODE["workflow_automated"],
     EVENT_CODE["integration_connected"]]
)
MILESTONES = np.arange(EVENT_CODE["account_setup_completed"], len(EVENTS))

# Mix of the events after a session's first (always logged_in), codes 0..8.
_MIX = {
    #            login dash  rep_c rep_s wflow integ export invite api
    HEALTHY:    [0.08, 0.34, 0.15, 0.08, 0.12, 0.04, 0.13, 0.05, 0.01],
    EXPANDER:   [0.07, 0.30, 0.17, 0.09, 0.14, 0.05, 0.10, 0.07, 0.01],
    CHURNER:    [0.10, 0.44, 0.08, 0.05, 0.05, 0.01, 0.22, 0.04, 0.01],
    DOWNGRADER: [0.10, 0.42, 0.10, 0.05, 0.07, 0.02, 0.18, 0.05, 0.01],
    STALLED:    [0.18, 0.58, 0.06, 0.02, 0.02, 0.01, 0.09, 0.03, 0.01],
    TRIAL_EXPIRED: [0.12, 0.50, 0.10, 0.04, 0.05, 0.03, 0.10, 0.05, 0.01],
}
# Account-level activity multiplier and mean extra events per session.
_LEVEL = {HEALTHY: 1.0, EXPANDER: 1.15, CHURNER: 0.95, DOWNGRADER: 0.75, STALLED: 0.12,
          TRIAL_EXPIRED: 0.55}
_EXTRA_EVENTS = {HEALTHY: 2.2, EXPANDER: 2.6, CHURNER: 1.8, DOWNGRADER: 1.4, STALLED: 0.5,
                 TRIAL_EXPIRED: 1.2}
# Base daily probability that a user with average propensity is active on a
# weekday; sets the overall volume (~1M events for 500 accounts over 24 months).
BASE_ACTIVITY = 0.25
DECLINE_DAYS = 90


@dataclass
class AccountUsage:
    """One account's users and events, with user numbers local to the account."""

    user_numbers: np.ndarray  # k in usr_<account>_<k>
    first_seen: np.ndarray  # epoch seconds of each user's first event
    event_user: np.ndarray  # index into user_numbers
    event_code: np.ndarray
    event_ts: np.ndarray


@dataclass
class Events:
    """All tracks rows, numeric. ``key`` drives the message id."""

    key: np.ndarray  # int64
    user: np.ndarray  # int32, index into Users
    code: np.ndarray  # int8
    ts: np.ndarray  # int64 epoch seconds ("timestamp")
    sent: np.ndarray  # int32 seconds after ts
    received: np.ndarray  # int32 seconds after ts
    malformed: np.ndarray  # int8, 0 = a valid timestamp, else the kind of garbage

    def __len__(self) -> int:
        return self.key.shape[0]

    def take(self, index: np.ndarray) -> Events:
        return Events(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        return Events(*(np.concatenate([getattr(p, f) for p in parts])
                        for f in Events.__dataclass_fields__))


@dataclass
class Users:
    user_id: np.ndarray  # S bytes
    account: np.ndarray  # int32 account index
    first_seen: np.ndarray  # int64
    grouped: np.ndarray  # bool: has a groups row

    @staticmethod
    def concat(parts: list[Users]) -> Users:
        if not parts:
            return Users(np.zeros(0, dtype="S1"), np.zeros(0, np.int32),
                         np.zeros(0, np.int64), np.zeros(0, dtype=bool))
        return Users(*(np.concatenate([getattr(p, f) for p in parts])
                       for f in Users.__dataclass_fields__))


def _day_factors(
    rng: np.random.Generator, account: Account, days: np.ndarray, cutoff: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(activity multiplier, in-span mask, decline factor) per day of the account's range."""
    in_span = np.zeros(days.shape[0], dtype=bool)
    ramp = np.ones(days.shape[0])
    for start, end in account.usage_spans(cutoff):
        first, last = start // DAY, (end - 1) // DAY
        mask = (days >= first) & (days <= last)
        in_span |= mask
        ramp[mask] = np.clip(0.35 + 0.65 * (days[mask] - first) / 30, 0.35, 1.0)

    weekday = (days + 3) % 7  # epoch day 0 was a Thursday; Monday = 0
    rhythm = np.where(weekday >= 5, 0.15, 1.0)

    as_dates = days.astype("datetime64[D]")
    month = as_dates.astype("datetime64[M]").astype(int) % 12 + 1
    day_of_month = (as_dates - as_dates.astype("datetime64[M]")).astype(int) + 1
    holiday = ((month == 12) & (day_of_month >= 22)) | ((month == 1) & (day_of_month <= 2))
    season = np.where(holiday, 0.45, np.where(month == 8, 0.85, 1.0))

    decline = np.ones(days.shape[0])
    main = account.main
    if main.trial_converts and main.ends is not None and main.ends < cutoff:
        end_day = main.ends // DAY
        window = (days >= end_day - DECLINE_DAYS) & (days < end_day)
        decline[window] = 1.0 - 0.9 * (days[window] - (end_day - DECLINE_DAYS)) / DECLINE_DAYS
    noise = np.exp(rng.normal(0.0, 0.15, days.shape[0]))
    level = _LEVEL[account.archetype]
    return rhythm * ramp * season * decline * noise * level, in_span, decline


def _users(
    rng: np.random.Generator, account: Account, first_day: int, cutoff: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(join day, leave day, propensity) per user; user 0 is the admin who signed up."""
    main = account.main
    archetype = account.archetype
    seats0 = main.quantity
    end_day = cutoff // DAY + 1

    def joining(count: int, start: int, spread: float) -> np.ndarray:
        return start + np.minimum(rng.exponential(spread, count), 4 * spread).astype(np.int64)

    if archetype == STALLED:
        initial = min(seats0, int(rng.integers(1, 4)))
    elif archetype == TRIAL_EXPIRED:
        initial = max(1, int(round(seats0 * rng.uniform(0.2, 0.5))))
    elif archetype == EXPANDER:
        initial = max(1, int(round(seats0 * rng.uniform(0.6, 0.75))))
    elif archetype == DOWNGRADER:
        initial = max(1, int(round(seats0 * rng.uniform(0.6, 0.85))))
    else:
        initial = max(1, int(round(seats0 * rng.uniform(0.5, 1.0))))
    joins = [np.concatenate([[first_day], joining(initial - 1, first_day, 8.0)])]
    leaves = [np.full(initial, end_day)]

    if archetype == EXPANDER:
        # The team grows into its seats; each seat increase lets it grow again.
        stages = main.seat_changes()
        count = initial
        for j, (when, seats) in enumerate(stages):
            stage_start = when // DAY + (30 if j == 0 else 0)
            stage_end = stages[j + 1][0] // DAY if j + 1 < len(stages) else cutoff // DAY
            target = 0.97 if j + 1 < len(stages) else rng.uniform(0.85, 0.97)
            extra = int(round(seats * target)) - count
            if extra > 0 and stage_end > stage_start:
                if j + 1 == len(stages):
                    stage_end = min(stage_end, stage_start + 90)
                joins.append(np.sort(rng.integers(stage_start, stage_end, extra)))
                leaves.append(np.full(extra, end_day))
                count += extra
    join = np.concatenate(joins).astype(np.int64)
    leave = np.concatenate(leaves).astype(np.int64)

    if archetype == DOWNGRADER and main.downgrade is not None:
        when, seats = main.downgrade
        keep = max(1, int(round(seats * rng.uniform(0.7, 0.9))))
        if keep < join.shape[0]:
            # The people who left are why the customer buys fewer seats.
            leavers = np.arange(keep, join.shape[0])
            leave[leavers] = when // DAY - rng.integers(0, 45, leavers.shape[0])

    churn = account.churned_at(cutoff)
    if account.reactivation is not None and churn is not None:
        # Only part of the old team comes back after a reactivation.
        back = max(1, int(round(account.reactivation.quantity * rng.uniform(0.6, 0.9))))
        leave[back:] = np.minimum(leave[back:], churn // DAY)

    propensity = rng.beta(2.0, 3.0, join.shape[0])
    propensity[0] = 0.75
    return join, leave, propensity


def account_usage(
    rng: np.random.Generator, account: Account, cutoff: int, intensity: float = 1.0
) -> AccountUsage | None:
    """Users and events of one account (None for prospects)."""
    spans = account.usage_spans(cutoff)
    if not spans:
        return None
    first_day, last_day = spans[0][0] // DAY, (spans[-1][1] - 1) // DAY
    days = np.arange(first_day, last_day + 1, dtype=np.int64)
    factor, in_span, decline = _day_factors(rng, account, days, cutoff)
    join, leave, propensity = _users(rng, account, first_day, cutoff)

    probability = np.clip(
        propensity[:, None] * factor[None, :] * BASE_ACTIVITY * intensity, 0.0, 0.95
    )
    present = (days[None, :] >= join[:, None]) & (days[None, :] < leave[:, None])
    probability *= present & in_span[None, :]
    cell_user, cell_day = np.nonzero(rng.random(probability.shape) < probability)

    # Sessions: 1 + Poisson events, spaced by exponential gaps, first is logged_in.
    per_session = 1 + rng.poisson(_EXTRA_EVENTS[account.archetype], cell_user.shape[0])
    total = int(per_session.sum())
    session = np.repeat(np.arange(cell_user.shape[0]), per_session)
    first_of_session = np.cumsum(per_session) - per_session
    position = np.arange(total) - np.repeat(first_of_session, per_session)
    gaps = rng.exponential(4 * MINUTE, total)
    gaps[position == 0] = 0.0
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[first_of_session], per_session)
    session_start = days[cell_day] * DAY + working_time(rng, cell_user.shape[0])
    ts = session_start[session] + elapsed.astype(np.int64)
    user = cell_user[session].astype(np.int32)

    mix = np.asarray(_MIX[account.archetype])
    code = rng.choice(mix.shape[0], size=total, p=mix / mix.sum()).astype(np.int8)
    code[position == 0] = LOGGED_IN
    # Before churn the remaining users stop using the features that carry value.
    fading = 1.0 - decline[cell_day[session]]
    swap = np.isin(code, KEY_FEATURES) & (rng.random(total) < 0.7 * fading)
    code[swap] = DASHBOARD_VIEWED

    # Onboarding milestones by the admin, in order; stalled accounts stop early.
    done = {STALLED: int(rng.integers(1, 3)), TRIAL_EXPIRED: int(rng.integers(1, 4))}.get(
        account.archetype, len(MILESTONES)
    )
    steps = np.concatenate([[rng.uniform(0, 2)], rng.uniform(1, 7, len(MILESTONES) - 1)])
    milestone_ts = spans[0][0] + (np.cumsum(steps)[:done] * DAY).astype(np.int64)
    milestone_ts += rng.integers(10 * MINUTE, 2 * 3600, done)
    ts = np.concatenate([ts, milestone_ts])
    user = np.concatenate([user, np.zeros(done, dtype=np.int32)])
    code = np.concatenate([code, MILESTONES[:done].astype(np.int8)])

    inside = np.zeros(ts.shape[0], dtype=bool)
    for start, end in spans:
        inside |= (ts >= start) & (ts < end)
    ts, user, code = ts[inside], user[inside], code[inside]
    order = np.lexsort((code, user, ts))
    ts, user, code = ts[order], user[order], code[order]

    seen_users = np.unique(user)
    if seen_users.shape[0] == 0:
        return None
    first_seen = np.full(join.shape[0], np.iinfo(np.int64).max)
    np.minimum.at(first_seen, user, ts)
    remap = np.full(join.shape[0], -1, dtype=np.int32)
    remap[seen_users] = np.arange(seen_users.shape[0], dtype=np.int32)
    return AccountUsage(
        user_numbers=seen_users + 1,
        first_seen=first_seen[seen_users],
        event_user=remap[user],
        event_code=code,
        event_ts=ts,
    )


class UsageCollector:
    """Accumulates accounts' usage into global user and event arrays."""

    def __init__(self) -> None:
        self._user_ids: list[bytes] = []
        self._user_account: list[np.ndarray] = []
        self._first_seen: list[np.ndarray] = []
        self._event_user: list[np.ndarray] = []
        self._event_code: list[np.ndarray] = []
        self._event_ts: list[np.ndarray] = []
        self._offset = 0
        # Highest user number (ghost users are numbered past it) and user count.
        self.users_per_account: dict[int, int] = {}
        self.user_counts: dict[int, int] = {}

    def add(self, account: Account, usage: AccountUsage) -> None:
        number = account.product_number
        self._user_ids.extend(f"usr_{number:06d}_{k:02d}".encode() for k in usage.user_numbers)
        n = usage.user_numbers.shape[0]
        self._user_account.append(np.full(n, account.idx, dtype=np.int32))
        self._first_seen.append(usage.first_seen)
        self._event_user.append(usage.event_user + self._offset)
        self._event_code.append(usage.event_code)
        self._event_ts.append(usage.event_ts)
        self.users_per_account[account.idx] = int(usage.user_numbers.max())
        self.user_counts[account.idx] = n
        self._offset += n

    def finish(self, rng: np.random.Generator, cutoff: int) -> tuple[Users, Events]:
        """The collected users and events, with user indexes and keys local to this batch."""
        users = Users(
            user_id=np.array(self._user_ids, dtype="S"),
            account=_cat(self._user_account, np.int32),
            first_seen=_cat(self._first_seen, np.int64),
            grouped=np.ones(len(self._user_ids), dtype=bool),
        )
        ts = _cat(self._event_ts, np.int64)
        n = ts.shape[0]
        sent = rng.integers(0, 3, n).astype(np.int32)
        received = sent + rng.integers(1, 6, n).astype(np.int32)
        events = Events(
            key=np.arange(n, dtype=np.int64),
            user=_cat(self._event_user, np.int32),
            code=_cat(self._event_code, np.int8),
            ts=ts,
            sent=sent,
            received=received,
            malformed=np.zeros(n, dtype=np.int8),
        )
        # Events still in flight at the cutoff have not been received yet.
        return users, events.take(np.nonzero(ts + received < cutoff)[0])


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


# Writing ------------------------------------------------------------------

MALFORMED_KINDS = 4


def malformed_text(ts: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Unparseable timestamp text derived from the real instant (``S20``)."""
    valid = format_timestamps(ts)
    out = np.empty(ts.shape[0], dtype="S20")
    for i, (stamp, kind) in enumerate(zip(valid.tolist(), kinds.tolist())):
        text = stamp.decode()
        if kind == 1:
            out[i] = f"{text[:4]}-02-30{text[10:]}".encode()  # a day that does not exist
        elif kind == 2:
            out[i] = b"not-a-date"
        elif kind == 3:
            out[i] = str(int(ts[i]) * 1000).encode()  # epoch milliseconds
        else:
            out[i] = f"{text[:4]}-13{text[7:]}".encode()  # month 13
    return out


def groups_columns(
    users: Users, accounts: list[Account], rng: np.random.Generator, salt: int
) -> dict:
    """One group call per grouped user, just before the user's first event."""
    index = np.flatnonzero(users.grouped)
    called = users.first_seen[index] - rng.integers(1, 30, index.shape[0])
    anonymous = hashed_uuids(np.arange(users.user_id.shape[0]), salt + 1)[index]
    websites, names_, groups = [], [], []
    for i in index.tolist():
        account = accounts[int(users.account[i])]
        groups.append(account.product_account_id)
        names_.append(account.name)
        # Most calls send the bare domain; some accounts' apps send the URL.
        if account.website_as_url and rng.random() < 0.9:
            websites.append(f"https://www.{account.domain}/")
        else:
            websites.append(account.domain)
    return {
        "id": hashed_uuids(index.astype(np.int64), salt + 2),
        "user_id": users.user_id[index],
        "group_id": groups,
        "anonymous_id": anonymous,
        "name": names_,
        "website": websites,
        "timestamp": called,
        "received_at": called + rng.integers(1, 4, index.shape[0]),
    }
