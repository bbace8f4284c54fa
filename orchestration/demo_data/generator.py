"""Demo data generator: a landing folder as the connectors would deliver it.

``generate(config, landing_dir)`` writes one folder per source table of the
contracts in ``models/staging/*/_*__sources.yml`` (HubSpot, Stripe, Segment,
Zendesk, Delighted, the finance export), a ``_generation.json`` manifest and a
``_truth/accounts.csv`` table of what really happened to each account. Every
table is one CSV file except Segment ``tracks``, the one that grows with
usage: one Parquet file per day the events were received, in Hive-style
folders (``tracks/event_date=YYYY-MM-DD/``; see ``tracks.py``).

How it works, in stages:

1. plan: companies, their segment, archetype and billing story (``accounts.py``),
   and which paying subscriptions get a discount (``coupons.py``);
2. render each source from that plan (``billing``, ``crm``, ``usage``,
   ``support``, ``surveys``, ``finance``), so the sources agree with each other;
3. inject the configured defects into the clean rows and count them
   (``defects.py``);
4. write the files (``writer.py``, ``tracks.py``).

Product usage is generated a batch of accounts at a time and spilled to disk
(``ACCOUNTS_PER_BATCH``), so events never sit in memory all at once. Measured
on 2 cores: 10,000 accounts with ``event_intensity=0.47`` (10 million events)
in 31 s at 0.9 GB peak; 100,000 accounts (98.6 million events) in 6 minutes at
6.5 GB peak, most of it the other sources' rows, which are still held as
Python objects until they are written.

Time: the window starts on the first day of the month ``months`` months before
the as-of month and ends at the cutoff, ``as_of_date`` 00:00:00 UTC. Every
instant written is before the cutoff (the last full day of data is the day
before the as-of date; connectors last synced during that day), except what
the sources know in advance: the end of the current billing period, scheduled
cancellations, the end of a discount and the expected close date of open
deals. Nothing depends on the wall clock: the same config always gives
byte-identical files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
from tqdm import tqdm

from orchestration.settings import GENERATION_MANIFEST

from . import defects
from .accounts import Account, SubscriptionPlan, plan_accounts
from .billing import StripeRenderer, first_paid_at
from .common import (
    STREAM_ACCOUNTS, STREAM_BILLING, STREAM_CRM, STREAM_DEFECTS, STREAM_DISCOUNTS,
    STREAM_FINANCE, STREAM_IDS, STREAM_SUPPORT, STREAM_SURVEYS, STREAM_USAGE, add_months,
    epoch, format_timestamp, stage_rng,
)
from .coupons import plan_discounts
from .crm import CrmRenderer, make_owners
from .finance import expense_columns
from .support import SupportRenderer
from .surveys import SurveyRenderer
from .tracks import TracksSpill, write_tracks
from .usage import UsageCollector, Users, account_usage, groups_columns
from .writer import TABLES, LandingWriter

# A fixed default keeps library calls reproducible; the CLI passes today's date.
DEFAULT_AS_OF = dt.date(2025, 12, 1)
TRUTH_DIR = "_truth"
# Scratch folder for the numeric events between generation and writing; the
# leading dot keeps the loader and the landing sensor away from it.
SPILL_DIR = ".tracks_spill"
# Accounts whose usage is generated (and held in memory) at once. 2,000
# accounts are 2-4 million events at the default intensity, a few hundred MB;
# it is fixed, not configurable, because each batch draws its own random
# stream, so another batch size would give other (equally valid) files.
ACCOUNTS_PER_BATCH = 2_000

DEFECT_RATES = (
    "duplicate_rate", "late_event_rate", "unknown_user_rate", "malformed_timestamp_rate",
    "orphan_id_rate", "missing_crm_id_rate", "personal_email_rate",
)
LINKAGE_RATES = (
    "crm_missing_product_id_rate", "zendesk_missing_external_id_rate",
    "delighted_missing_company_id_rate",
)


@dataclass(frozen=True)
class GeneratorConfig:
    """Size, randomness and defect rates of one generated landing folder.

    Defect rates (set all to 0 with ``without_defects()`` for clean data):

    - ``duplicate_rate``: exact duplicate ``tracks`` rows, and older re-synced
      copies of HubSpot companies/contacts, Stripe customers/invoices and
      Zendesk tickets;
    - ``late_event_rate``: events received 1-5 days after they happened;
    - ``unknown_user_rate``: events of users without a ``groups`` row;
    - ``malformed_timestamp_rate``: unparseable ``tracks.timestamp`` values (and
      a handful of ticket ``created_at`` values);
    - ``orphan_id_rate``: tickets, invoices and deal associations pointing at
      organizations, customers or companies that exist nowhere;
    - ``missing_crm_id_rate``: billing customers without ``hubspot_company_id``
      (their email is at the company's domain);
    - ``personal_email_rate``: billing customers with a free-mail address and
      no CRM id, which no rule can match.

    Linkage rates are how often a system lacks the explicit id of another; they
    are normal, matchable gaps (by domain or email), not defects:
    ``crm_missing_product_id_rate`` (CRM company without the product account
    id), ``zendesk_missing_external_id_rate``, ``delighted_missing_company_id_rate``.
    """

    seed: int = 42
    accounts: int = 500
    months: int = 24
    as_of_date: dt.date = DEFAULT_AS_OF
    duplicate_rate: float = 0.005
    late_event_rate: float = 0.01
    unknown_user_rate: float = 0.003
    malformed_timestamp_rate: float = 0.0005
    orphan_id_rate: float = 0.005
    missing_crm_id_rate: float = 0.08
    personal_email_rate: float = 0.01
    crm_missing_product_id_rate: float = 0.08
    zendesk_missing_external_id_rate: float = 0.15
    delighted_missing_company_id_rate: float = 0.30
    # Scales product usage (events per active user-day) without changing the story.
    event_intensity: float = 1.0

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise ValueError("accounts must be at least 1")
        if self.months < 1:
            raise ValueError("months must be at least 1")
        for name in DEFECT_RATES + LINKAGE_RATES:
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if self.missing_crm_id_rate + self.personal_email_rate >= 1:
            raise ValueError("missing_crm_id_rate + personal_email_rate must stay below 1")
        if self.event_intensity <= 0:
            raise ValueError("event_intensity must be positive")

    def without_defects(self) -> GeneratorConfig:
        """The same config with every defect rate at 0 (clean data)."""
        return dataclasses.replace(self, **{name: 0.0 for name in DEFECT_RATES})

    @property
    def cutoff(self) -> int:
        return epoch(self.as_of_date)

    @property
    def window_start(self) -> int:
        as_of_month = epoch(self.as_of_date.replace(day=1))
        return add_months(as_of_month, -self.months)


T = TypeVar("T")


class _Progress:
    """Stage-by-stage progress bar, with a nested per-account bar; silent when off."""

    def __init__(self, enabled: bool, stages: int) -> None:
        self.enabled = enabled
        self.bar = tqdm(total=stages, desc="demo data", unit="stage", disable=not enabled)

    def stage(self, name: str) -> None:
        self.bar.set_postfix_str(name)

    def done(self) -> None:
        self.bar.update(1)

    def each(self, items: Iterable[T], name: str, total: int) -> Iterator[T]:
        return iter(tqdm(items, desc=f"  {name}", total=total, unit="acct", leave=False,
                         disable=not self.enabled))

    def close(self) -> None:
        self.bar.close()


def generate(config: GeneratorConfig, landing_dir: Path, progress: bool = False) -> dict:
    """Write the demo landing folder for ``config`` into ``landing_dir``; return the manifest.

    Previous files of every table written here are replaced; other folders in
    ``landing_dir`` are left alone.
    """
    landing_dir = Path(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = landing_dir / GENERATION_MANIFEST
    # Remove the manifest first: a folder without one is known to be incomplete.
    manifest_path.unlink(missing_ok=True)

    seed, cutoff, start = config.seed, config.cutoff, config.window_start
    bar = _Progress(progress, stages=9)
    log = defects.DefectLog()

    bar.stage("plan accounts")
    owners = make_owners(stage_rng(seed, STREAM_CRM, 0))
    accounts = plan_accounts(
        stage_rng(seed, STREAM_ACCOUNTS), config.accounts, start, cutoff,
        owner_ids=[o.owner_id for o in owners if o.role == "csm"],
        missing_crm_id_rate=config.missing_crm_id_rate,
        personal_email_rate=config.personal_email_rate,
        crm_missing_product_id_rate=config.crm_missing_product_id_rate,
        zendesk_missing_external_id_rate=config.zendesk_missing_external_id_rate,
    )
    customers = [a for a in accounts if a.is_customer]
    paying = [a for a in customers if first_paid_at(a, cutoff) is not None]
    plan_discounts(stage_rng(seed, STREAM_DISCOUNTS), paying, cutoff)
    log.add("customers_without_crm_id", "stripe.customer",
            sum(not a.customer_has_crm_id and a.personal_email is None for a in customers))
    log.add("customers_with_personal_email", "stripe.customer",
            sum(a.personal_email is not None for a in customers))
    bar.done()

    bar.stage("billing")
    stripe = StripeRenderer(stage_rng(seed, STREAM_BILLING), cutoff, start,
                            discount_rng=stage_rng(seed, STREAM_DISCOUNTS, 1))
    stripe.render_catalogue()
    for account in bar.each(customers, "billing", len(customers)):
        stripe.render_account(account)
    bar.done()

    bar.stage("crm")
    crm = CrmRenderer(stage_rng(seed, STREAM_CRM, 1), cutoff, start, owners)
    crm.render_owners()
    for account in bar.each(accounts, "crm", len(accounts)):
        crm.render_account(account)
    crm.finish()
    bar.done()

    bar.stage("product usage")
    spill = TracksSpill(landing_dir / SPILL_DIR)
    usage = _generate_usage(config, customers, spill, log, bar)
    bar.done()

    bar.stage("support")
    support = SupportRenderer(stage_rng(seed, STREAM_SUPPORT), cutoff, start)
    for account in bar.each(customers, "support", len(customers)):
        support.render_account(account)
    support.finish()
    bar.done()

    bar.stage("surveys")
    surveys = SurveyRenderer(stage_rng(seed, STREAM_SURVEYS), cutoff, start,
                             config.delighted_missing_company_id_rate)
    for account in customers:
        surveys.render_account(account)
    surveys.render_csat(support.solved)
    surveys.finish()
    finance = expense_columns(stage_rng(seed, STREAM_FINANCE), accounts, start, cutoff)
    bar.done()

    bar.stage("defects")
    # The tracks defects were injected batch by batch with the events.
    rng = stage_rng(seed, STREAM_DEFECTS)
    rate = config.duplicate_rate
    defects.resync_duplicates(rng, crm.companies, rate, "property_createdate",
                              defects.stale_company, log)
    defects.resync_duplicates(rng, crm.contacts, rate, "property_createdate",
                              defects.stale_contact, log)
    defects.resync_duplicates(rng, stripe.customers, rate, "created",
                              defects.stale_customer, log)
    defects.resync_duplicates(rng, stripe.invoices, rate, "created",
                              defects.stale_invoice, log)
    defects.resync_duplicates(rng, support.tickets, rate, "created_at",
                              defects.stale_ticket, log)
    defects.orphan_tickets(rng, support.tickets, config.orphan_id_rate, log)
    defects.orphan_invoices(rng, stripe.invoices, stripe.lines,
                            lambda prefix: stripe.ids[prefix].next(), start, cutoff,
                            config.orphan_id_rate, log)
    defects.orphan_deal_companies(rng, crm.deal_companies, config.orphan_id_rate, log)
    defects.malformed_ticket_times(rng, support.tickets, config.malformed_timestamp_rate, log)
    bar.done()

    bar.stage("write")
    writer = LandingWriter(landing_dir)
    try:
        builders = [
            crm.owner_table, crm.companies, crm.contacts, crm.deals, crm.deal_companies,
            crm.engagements, crm.engagement_companies, crm.meetings,
            stripe.customers, stripe.history, stripe.items, stripe.prices, stripe.products,
            stripe.invoices, stripe.lines, stripe.coupons, stripe.discounts,
            support.organizations, support.tickets, support.ratings,
            surveys.responses,
        ]
        for builder in builders:
            writer.write(builder.key, builder.columns)
        writer.write(("finance", "sales_marketing_expense"), finance)
        groups = groups_columns(usage.users, accounts, stage_rng(seed, STREAM_IDS, 1), seed)
        writer.write(("segment", "groups"), groups)
        tracks_key = ("segment", "tracks")
        writer.clear(tracks_key)
        writer.row_counts["segment.tracks"] = write_tracks(
            spill, usage.users, writer.table_dir(tracks_key), salt=seed
        )
        bar.done()

        bar.stage("truth and manifest")
        truth = _truth_table(accounts, stripe, usage.user_counts, cutoff)
        writer.write_file(Path(TRUTH_DIR) / "accounts.csv", truth)
    finally:
        writer.close()
        spill.close()

    missing = [f"{s}.{t}" for s, t in TABLES if f"{s}.{t}" not in writer.row_counts]
    if missing:
        raise RuntimeError(f"tables not written: {missing}")
    manifest = {
        "generator": "orchestration.demo_data",
        "as_of_date": config.as_of_date.isoformat(),
        "seed": config.seed,
        "accounts": config.accounts,
        "months": config.months,
        "window_start": format_timestamp(start),
        "cutoff": format_timestamp(cutoff),
        "event_intensity": config.event_intensity,
        "defect_rates": {name: getattr(config, name) for name in DEFECT_RATES},
        "linkage_rates": {name: getattr(config, name) for name in LINKAGE_RATES},
        "row_counts": dict(sorted(writer.row_counts.items())),
        "defects": log.as_dict(),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    bar.done()
    bar.close()
    return manifest


@dataclass
class _Usage:
    users: Users
    user_counts: dict[int, int]


def _generate_usage(
    config: GeneratorConfig, customers: list[Account], spill: TracksSpill,
    log: defects.DefectLog, bar: _Progress,
) -> _Usage:
    """Users and events of every customer, a batch of accounts at a time, spilled to disk.

    Each account draws from its own random stream and each batch's delivery
    times and tracks defects from the batch's own, so the output does not
    depend on anything but the config. Defect counts are rounded per batch.
    """
    seed, cutoff = config.seed, config.cutoff
    product_numbers = {a.idx: a.product_number for a in customers}
    batches: list[Users] = []
    user_counts: dict[int, int] = {}
    offset = 0
    accounts = bar.each(customers, "usage", len(customers))
    for number in range(-(-len(customers) // ACCOUNTS_PER_BATCH)):
        collector = UsageCollector()
        for account in itertools.islice(accounts, ACCOUNTS_PER_BATCH):
            usage = account_usage(stage_rng(seed, STREAM_USAGE, account.idx), account, cutoff,
                                  config.event_intensity)
            if usage is not None:
                collector.add(account, usage)
        users, events = collector.finish(stage_rng(seed, STREAM_USAGE, 1 << 30, number), cutoff)
        events, users = defects.inject_tracks_defects(
            stage_rng(seed, STREAM_DEFECTS, 1 << 30, number), events, users,
            collector.users_per_account, product_numbers, cutoff,
            duplicate_rate=config.duplicate_rate, late_event_rate=config.late_event_rate,
            unknown_user_rate=config.unknown_user_rate,
            malformed_timestamp_rate=config.malformed_timestamp_rate, log=log,
        )
        spill.add(events, user_offset=offset)
        offset += users.user_id.shape[0]
        batches.append(users)
        user_counts.update(collector.user_counts)
    return _Usage(Users.concat(batches), user_counts)


def _trial_outcome(main: SubscriptionPlan, cutoff: int) -> str | None:
    if main.trial_end is None:
        return None
    if main.trial_end >= cutoff:
        return "trialing"
    return "converted" if main.trial_converts else "expired"


def _date(ts: int | None) -> str | None:
    return None if ts is None else format_timestamp(ts)[:10]


def _truth_table(
    accounts: list[Account], stripe: StripeRenderer, users: dict[int, int], cutoff: int
) -> pa.Table:
    """One row per CRM company: its identities and what happened to it."""
    rows = []
    for a in accounts:
        main, addon, again = a.main, a.addon, a.reactivation
        row = {
            "company_id": a.company_id,
            "company_name": a.name,
            "domain": a.domain,
            "segment": a.segment,
            "employees": a.employees,
            "owner_id": a.owner_id,
            "archetype": a.archetype,
            "is_customer": a.is_customer,
            "product_account_id": a.product_account_id,
            "crm_has_product_account_id": a.is_customer and a.crm_has_product_id,
            "stripe_customer_id": a.stripe_customer_id,
            "customer_has_crm_id": a.is_customer and a.customer_has_crm_id,
            "customer_email_is_personal": a.personal_email is not None,
            "zendesk_organization_id": a.zendesk_org_id,
            "zendesk_has_external_id": a.is_customer and a.zendesk_has_external_id,
            "website_sent_as_url": a.is_customer and a.website_as_url,
        }
        if main is not None:
            churn = a.churned_at(cutoff)
            latest = main.seat_changes()
            latest_seats = [q for w, q in latest if w < cutoff][-1]
            if again is not None:
                latest_seats = again.quantity
            pending = main.cancel_requested is not None and (
                main.ends is None or main.ends >= cutoff)
            row.update({
                "plan": main.product,
                "billing_interval": main.interval,
                "initial_seats": main.quantity,
                "latest_seats": latest_seats,
                "has_trial": main.trial_end is not None,
                "trial_outcome": _trial_outcome(main, cutoff),
                "signup_date": _date(main.created),
                "first_paid_date": _date(first_paid_at(a, cutoff)),
                "cancel_requested_date": _date(main.cancel_requested)
                if main.cancel_requested is not None and main.cancel_requested < cutoff
                else None,
                "churn_date": _date(churn),
                "churn_type": None if churn is None else (
                    "involuntary" if main.involuntary else "voluntary"),
                "cancellation_pending": pending,
                "reactivation_date": _date(again.created) if again is not None else None,
                "expansion_count": sum(w < cutoff for w, _ in main.upgrades),
                "first_expansion_date": _date(main.upgrades[0][0])
                if main.upgrades and main.upgrades[0][0] < cutoff else None,
                "downgrade_date": _date(main.downgrade[0]) if main.downgrade else None,
                "past_due_spell": main.past_due is not None and main.past_due[1] < cutoff,
                "has_addon": addon is not None,
                "addon_canceled_date": _date(addon.ends)
                if addon is not None and addon.ends is not None and addon.ends < cutoff
                else None,
                "onboarding_package": main.onboarding_package,
                "api_overage": main.api_overage,
                "product_users": users.get(a.idx, 0),
                "main_subscription_id": stripe.subscription_ids.get((a.idx, "main")),
                "addon_subscription_id": stripe.subscription_ids.get((a.idx, "addon")),
                "reactivation_subscription_id": stripe.subscription_ids.get(
                    (a.idx, "reactivation")),
                "coupon_id": main.discount.coupon.id if main.discount is not None else None,
                "discount_start_date": _date(main.discount.start)
                if main.discount is not None else None,
            })
        rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    data = {c: [row.get(c) for row in rows] for c in columns}
    return pa.table({c: pa.array(v) for c, v in data.items()})


__all__ = ["DEFAULT_AS_OF", "GeneratorConfig", "generate"]
