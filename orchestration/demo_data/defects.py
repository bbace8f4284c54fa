"""Data-quality defects injected into otherwise clean data, and counted.

Each defect is the kind a warehouse meets in practice: at-least-once delivery
(exact duplicate events), connector re-syncs (an older copy of a row with an
earlier ``_fivetran_synced``, so keeping the latest copy per id recovers the
truth), late events, events of users whose group call never arrived,
unparseable timestamps and references to records that exist nowhere.

Counts are ``round(rate * rows)`` of the clean table, so the manifest reports
exactly what was injected and a rate of 0 injects nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import names
from .common import DAY, MINUTE, format_timestamp, unique_integers
from .usage import MALFORMED_KINDS, Events, Users
from .writer import TableBuilder


class DefectLog:
    """Counts per defect kind and table (``source.table``)."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}

    def add(self, kind: str, table: str, count: int) -> None:
        tables = self.counts.setdefault(kind, {})
        tables[table] = tables.get(table, 0) + int(count)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {kind: dict(sorted(tables.items())) for kind, tables in self.counts.items()}


def _count(rate: float, rows: int) -> int:
    return int(round(rate * rows))


# Segment ------------------------------------------------------------------

def inject_tracks_defects(
    rng: np.random.Generator, events: Events, users: Users, users_per_account: dict[int, int],
    product_numbers: dict[int, int], cutoff: int, *, duplicate_rate: float,
    late_event_rate: float, unknown_user_rate: float, malformed_timestamp_rate: float,
    log: DefectLog,
) -> tuple[Events, Users]:
    base = len(events)
    table = "segment.tracks"

    # Late arrivals: received 1-5 days after they happened (a device that was
    # offline); the file they land in follows received_at.
    candidates = np.flatnonzero(events.ts + 5 * DAY + MINUTE < cutoff)
    late = rng.choice(candidates, size=min(_count(late_event_rate, base), candidates.shape[0]),
                      replace=False)
    delay = rng.integers(DAY, 5 * DAY, late.shape[0]).astype(np.int32)
    events.received[late] = delay
    events.sent[late] = delay - rng.integers(1, 4, late.shape[0]).astype(np.int32)
    log.add("late_events", table, late.shape[0])

    broken = rng.choice(base, size=_count(malformed_timestamp_rate, base), replace=False)
    events.malformed[broken] = rng.integers(1, MALFORMED_KINDS + 1, broken.shape[0])
    log.add("malformed_timestamps", table, broken.shape[0])

    # Events of users with no groups row: real-looking ids numbered past the
    # account's last known user.
    source = np.sort(rng.choice(base, size=_count(unknown_user_rate, base), replace=False))
    if source.shape[0]:
        accounts = users.account[events.user[source]]
        slots = rng.integers(1, 4, source.shape[0])
        ghost_keys = sorted(set(zip(accounts.tolist(), slots.tolist())))
        ghost_index = {key: users.user_id.shape[0] + j for j, key in enumerate(ghost_keys)}
        ghost_ids = [
            f"usr_{product_numbers[a]:06d}_{users_per_account[a] + s:02d}".encode()
            for a, s in ghost_keys
        ]
        users = Users(
            user_id=np.concatenate([users.user_id, np.array(ghost_ids, dtype="S")]),
            account=np.concatenate([users.account, np.array([a for a, _ in ghost_keys],
                                                            dtype=np.int32)]),
            first_seen=np.concatenate([users.first_seen, np.zeros(len(ghost_keys), np.int64)]),
            grouped=np.concatenate([users.grouped, np.zeros(len(ghost_keys), dtype=bool)]),
        )
        extra = events.take(source)
        extra.key = events.key.max() + 1 + np.arange(source.shape[0], dtype=np.int64)
        extra.user = np.array([ghost_index[(a, s)] for a, s in zip(accounts.tolist(),
                                                                    slots.tolist())],
                              dtype=np.int32)
        events = Events.concat([events, extra])
    log.add("unknown_users", table, source.shape[0])

    # At-least-once delivery: the very same message twice.
    copies = rng.choice(len(events), size=_count(duplicate_rate, base), replace=False)
    events = Events.concat([events, events.take(np.sort(copies))])
    log.add("duplicate_rows", table, copies.shape[0])
    return events, users


# Connector tables -----------------------------------------------------------

StaleEdit = Callable[[dict, np.random.Generator, int], None]


def resync_duplicates(
    rng: np.random.Generator, builder: TableBuilder, rate: float, created_column: str,
    stale_edit: StaleEdit, log: DefectLog,
) -> None:
    """Add an older copy of some rows: same id, earlier ``_fivetran_synced``, stale values."""
    count = _count(rate, len(builder))
    for i in np.sort(rng.choice(len(builder), size=count, replace=False)).tolist():
        row = builder.row(i)
        synced, created = row["_fivetran_synced"], row[created_column]
        gap = max(2, synced - created) if isinstance(created, (int, np.integer)) else 2 * DAY
        stale_synced = synced - max(1, int(gap * rng.uniform(0.2, 0.8)))
        stale = dict(row, _fivetran_synced=stale_synced)
        stale_edit(stale, rng, stale_synced)
        builder.add(**stale)
    log.add("duplicate_rows", ".".join(builder.key), count)


def stale_company(row: dict, rng: np.random.Generator, synced: int) -> None:
    row["property_hs_lastmodifieddate"] = min(row["property_hs_lastmodifieddate"], synced - 60)
    if row["property_annualrevenue"] is not None:
        row["property_annualrevenue"] = float(round(row["property_annualrevenue"] * 0.9, -3))


def stale_contact(row: dict, rng: np.random.Generator, synced: int) -> None:
    row["property_jobtitle"] = names.JOB_TITLES[int(rng.integers(len(names.JOB_TITLES)))]


def stale_customer(row: dict, rng: np.random.Generator, synced: int) -> None:
    row["delinquent"] = False


def stale_invoice(row: dict, rng: np.random.Generator, synced: int) -> None:
    if row["status"] == "paid":
        # The copy synced while the invoice was still awaiting payment.
        row.update(status="open", paid=False, amount_paid=0,
                   amount_remaining=row["amount_due"])


def stale_ticket(row: dict, rng: np.random.Generator, synced: int) -> None:
    if row["status"] in ("solved", "closed"):
        row["status"] = "open"
    created = row["created_at"]
    row["updated_at"] = max(created, min(row["updated_at"], synced - 60))


def orphan_tickets(
    rng: np.random.Generator, tickets: TableBuilder, rate: float, log: DefectLog
) -> None:
    """Point some tickets at organizations that exist nowhere (deleted in Zendesk)."""
    count = _count(rate, len(tickets))
    rows = rng.choice(len(tickets), size=count, replace=False)
    unknown = unique_integers(rng, 350_000_000_000, 359_999_999_999, count)
    for i, org in zip(rows.tolist(), unknown.tolist()):
        tickets.columns["organization_id"][i] = int(org)
    log.add("orphan_ids", "zendesk.ticket", count)


def orphan_invoices(
    rng: np.random.Generator, invoices: TableBuilder, lines: TableBuilder,
    new_id: Callable[[str], str], window_start: int, cutoff: int, rate: float,
    log: DefectLog,
) -> None:
    """Invoices (one manual line each) of customers that exist nowhere."""
    count = _count(rate, len(invoices))
    for _ in range(count):
        created = int(rng.integers(window_start, cutoff - DAY))
        amount = int(rng.integers(50, 600)) * 100
        synced = created + int(rng.integers(MINUTE, DAY))
        invoice_id = new_id("in_")
        invoices.add(
            id=invoice_id, customer_id=new_id("cus_"), subscription_id=None, status="paid",
            billing_reason="manual", created=created, period_start=created,
            period_end=created, amount_due=amount, amount_paid=amount, amount_remaining=0,
            subtotal=amount, tax=0, total=amount, currency="usd", paid=True,
            _fivetran_synced=min(synced, cutoff - 1),
        )
        lines.add(
            id=new_id("il_"), invoice_id=invoice_id, amount=amount, currency="usd",
            quantity=1, period_start=created, period_end=created, proration=False,
            type="invoiceitem", _fivetran_synced=min(synced, cutoff - 1),
        )
    log.add("orphan_ids", "stripe.invoice", count)


def orphan_deal_companies(
    rng: np.random.Generator, deal_companies: TableBuilder, rate: float, log: DefectLog
) -> None:
    """Associations of real deals with company ids that exist nowhere."""
    count = _count(rate, len(deal_companies))
    rows = rng.choice(len(deal_companies), size=count, replace=False)
    unknown = unique_integers(rng, 1_000_000_000, 4_999_999_999, count)
    for i, company in zip(np.sort(rows).tolist(), unknown.tolist()):
        deal_companies.add(
            deal_id=deal_companies.columns["deal_id"][i], company_id=int(company),
            _fivetran_synced=deal_companies.columns["_fivetran_synced"][i],
        )
    log.add("orphan_ids", "hubspot.deal_company", count)


def malformed_ticket_times(
    rng: np.random.Generator, tickets: TableBuilder, rate: float, log: DefectLog
) -> None:
    """A handful of ticket ``created_at`` values no parser accepts."""
    if rate <= 0 or len(tickets) == 0:
        return
    count = max(1, _count(rate, len(tickets)))
    rows = rng.choice(len(tickets), size=min(count, len(tickets)), replace=False)
    column = tickets.columns["created_at"]
    for j, i in enumerate(rows.tolist()):
        text = format_timestamp(column[i])
        column[i] = [f"{text[:4]}-02-30{text[10:]}", "not-a-date", str(column[i] * 1000),
                     f"{text[:4]}-13{text[7:]}"][j % 4]
    log.add("malformed_timestamps", "zendesk.ticket", rows.shape[0])
