"""Who the companies are and what happens to them: the plan every source is drawn from.

One ``Account`` per CRM company. Customers get a billing plan (``SubscriptionPlan``:
price, seats, trial, quantity changes, past-due spell, cancellation) and an
archetype that also drives product usage, support, surveys and CRM activity.
Deciding the story first, then rendering each source from it, keeps the
sources consistent with each other (a churned customer stops using the
product, stops being billed and gets a lower NPS) and gives the tests a truth
table to check the warehouse against.

Shares are assigned as exact quotas (then shuffled) rather than drawn
independently, so even a small run contains every archetype.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import names
from .common import DAY, HOUR, add_months, unique_integers, working_time

if TYPE_CHECKING:  # coupons.py plans discounts from accounts, so import for typing only
    from .coupons import Discount

SMB, MID_MARKET, ENTERPRISE = "smb", "mid_market", "enterprise"

HEALTHY = "healthy"
CHURNER = "churner"
EXPANDER = "expander"
DOWNGRADER = "downgrader"
STALLED = "stalled"
TRIAL_EXPIRED = "trial_expired"
PROSPECT = "prospect"

# Shares of paying customers (trials that expire are taken out first).
ARCHETYPE_SHARES = {HEALTHY: 0.50, CHURNER: 0.20, EXPANDER: 0.15, DOWNGRADER: 0.05, STALLED: 0.10}
SEGMENT_SHARES = {SMB: 0.60, MID_MARKET: 0.30, ENTERPRISE: 0.10}
PROSPECT_SHARE = 0.10
# Self-serve small teams trial more often than sales-led enterprises (~40% overall).
TRIAL_SHARE = {SMB: 0.50, MID_MARKET: 0.35, ENTERPRISE: 0.15}
TRIAL_EXPIRED_SHARE = 0.15
TRIAL_DAYS = 14
# Applied to churners who still have 5+ weeks of window after churning (about
# three in four), so that about 30% of all churners come back.
REACTIVATION_SHARE = 0.40
PAST_DUE_SHARE = 0.08
INVOLUNTARY_CHURN_SHARE = 0.15  # of monthly churners: card fails, dunning runs out
# Offered to mid-market/enterprise accounts that keep their main plan; most cancel
# it later, so ~10% of them show a partial cancellation (contraction, not churn).
ADDON_SHARE = 0.30
ADDON_CANCEL_SHARE = 0.75


@dataclass
class Contact:
    contact_id: int
    first_name: str
    last_name: str
    email: str
    job_title: str
    created: int
    zendesk_user_id: int
    delighted_person_id: str


@dataclass
class SubscriptionPlan:
    """What happens to one Stripe subscription; ``billing.py`` renders it as versions."""

    kind: str  # main, addon or reactivation
    product: str  # starter, growth, enterprise, community or addon
    interval: str  # month or year
    created: int
    quantity: int
    trial_end: int | None = None
    trial_converts: bool = True
    upgrades: list[tuple[int, int]] = field(default_factory=list)  # (when, new seats)
    downgrade: tuple[int, int] | None = None  # (renewal boundary, new seats)
    past_due: tuple[int, int, int | None] | None = None  # (renewal, failed at, paid at)
    cancel_requested: int | None = None
    ends: int | None = None  # ended_at; may lie after the cutoff (scheduled)
    involuntary: bool = False  # ends via past_due -> unpaid -> canceled
    onboarding_package: bool = False
    api_overage: bool = False
    discount: Discount | None = None  # main plans only; set by ``coupons.plan_discounts``

    @property
    def anchor(self) -> int:
        return self.trial_end if self.trial_end is not None else self.created

    @property
    def months_per_period(self) -> int:
        return 1 if self.interval == "month" else 12

    def boundary(self, k: int) -> int:
        """Start of the k-th paid period (k = 0 is the first)."""
        return add_months(self.anchor, k * self.months_per_period)

    def seat_changes(self) -> list[tuple[int, int]]:
        """(when, seats) from creation on: the seat limit the customer pays for."""
        changes = [(self.created, self.quantity), *self.upgrades]
        if self.downgrade is not None:
            changes.append(self.downgrade)
        return sorted(changes)

    def boundaries_before(self, limit: int) -> list[int]:
        out, k = [], 0
        while (b := self.boundary(k)) < limit:
            out.append(b)
            k += 1
        return out


@dataclass
class Account:
    idx: int
    company_id: int
    name: str
    domain: str
    industry: str
    employees: int
    annual_revenue: float
    segment: str
    owner_id: int
    crm_created: int
    archetype: str
    contacts: list[Contact] = field(default_factory=list)
    # Identity in the other systems.
    product_number: int | None = None
    crm_has_product_id: bool = True
    stripe_customer_id: str | None = None
    customer_has_crm_id: bool = True
    personal_email: str | None = None
    zendesk_org_id: int | None = None
    zendesk_has_external_id: bool = True
    website_as_url: bool = False
    # Billing story.
    has_trial: bool = False
    tax_rate: float = 0.0
    send_invoice: bool = False
    signup: int | None = None
    main: SubscriptionPlan | None = None
    addon: SubscriptionPlan | None = None
    reactivation: SubscriptionPlan | None = None

    @property
    def is_customer(self) -> bool:
        return self.main is not None

    @property
    def product_account_id(self) -> str | None:
        return None if self.product_number is None else f"acct_{self.product_number:06d}"

    def churned_at(self, cutoff: int) -> int | None:
        """When the paid main subscription ended (trials that never paid excluded)."""
        main = self.main
        if main is None or not main.trial_converts or main.ends is None:
            return None
        return main.ends if main.ends < cutoff else None

    def usage_spans(self, cutoff: int) -> list[tuple[int, int]]:
        """Intervals during which the account could use the product."""
        if self.main is None:
            return []
        main = self.main
        if main.trial_end is not None and not main.trial_converts:
            end = main.trial_end
        else:
            end = main.ends if main.ends is not None else cutoff
        spans = [(main.created, min(end, cutoff))]
        if self.reactivation is not None:
            spans.append((self.reactivation.created, cutoff))
        return [(a, b) for a, b in spans if a < b]


def quota_labels(rng: np.random.Generator, count: int, shares: dict[str, float]) -> list[str]:
    """Exactly-proportioned labels (largest remainder), in random order."""
    raw = {label: share * count for label, share in shares.items()}
    counts = {label: int(math.floor(v)) for label, v in raw.items()}
    leftover = count - sum(counts.values())
    by_remainder = sorted(raw, key=lambda label: raw[label] - counts[label], reverse=True)
    for label in by_remainder[:leftover]:
        counts[label] += 1
    labels = [label for label, n in counts.items() for _ in range(n)]
    order = rng.permutation(len(labels))
    return [labels[i] for i in order]


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters and digits only (Müller -> muller, O'Brien -> obrien)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _company_names(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """Unique (name, domain) pairs like ("Northwind Analytics", "northwind-analytics.com")."""
    out: list[tuple[str, str]] = []
    used: set[str] = set()
    while len(out) < count:
        word = names.COMPANY_WORDS[rng.integers(len(names.COMPANY_WORDS))]
        noun = names.COMPANY_NOUNS[rng.integers(len(names.COMPANY_NOUNS))]
        tld = names.TLDS[rng.integers(len(names.TLDS))]
        stem = f"{word.lower()}-{noun.lower()}"
        domain, name = f"{stem}.{tld}", f"{word} {noun}"
        suffix = 2
        while domain in used:
            # Beyond the word lists' combinations, number the stem like real
            # companies do when the short domain is taken.
            domain, name = f"{stem}{suffix}.{tld}", f"{word} {noun} {suffix}"
            suffix += 1
        used.add(domain)
        out.append((name, domain))
    return out


def _sample_time(rng: np.random.Generator, low: int, high: int, growth: float = 0.6) -> int:
    """An instant in [low, high), denser towards ``high`` (the business grows).

    Inverse CDF of a density proportional to ``1 + growth * x`` on [0, 1].
    """
    u = rng.random()
    x = (-1 + math.sqrt(1 + 2 * growth * u * (1 + growth / 2))) / growth
    day = low // DAY + int(x * max(1, (high - low) // DAY))
    return int(day * DAY + working_time(rng, 1)[0])


def _uniform_days(rng: np.random.Generator, low_days: float, high_days: float) -> int:
    return int(rng.uniform(low_days, high_days) * DAY)


def _seats(rng: np.random.Generator, segment: str) -> int:
    if segment == SMB:
        return int(rng.integers(3, 16))
    if segment == MID_MARKET:
        return int(rng.integers(15, 81))
    return int(round(math.exp(rng.uniform(math.log(80), math.log(400)))))


def _employees(rng: np.random.Generator, segment: str) -> int:
    low, high = {SMB: (5, 199), MID_MARKET: (200, 999), ENTERPRISE: (1000, 25000)}[segment]
    return int(round(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))


def _product_and_interval(rng: np.random.Generator, segment: str) -> tuple[str, str]:
    if segment == SMB:
        product = "starter" if rng.random() < 0.85 else "growth"
        annual = rng.random() < 0.15
    elif segment == MID_MARKET:
        product = str(rng.choice(["growth", "starter", "enterprise"], p=[0.8, 0.1, 0.1]))
        annual = rng.random() < 0.5
    else:
        product = "enterprise" if rng.random() < 0.9 else "growth"
        annual = rng.random() < 0.9
    return product, "year" if annual else "month"


def _contacts(
    rng: np.random.Generator, account: Account, cutoff: int, next_ids: dict[str, int]
) -> list[Contact]:
    low, high = {SMB: (2, 4), MID_MARKET: (3, 6), ENTERPRISE: (4, 8)}[account.segment]
    out: list[Contact] = []
    used: set[str] = set()
    for _ in range(int(rng.integers(low, high + 1))):
        first = names.FIRST_NAMES[rng.integers(len(names.FIRST_NAMES))]
        last = names.LAST_NAMES[rng.integers(len(names.LAST_NAMES))]
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        email, n = f"{local}@{account.domain}", 2
        while email in used:
            email, n = f"{local}{n}@{account.domain}", n + 1
        used.add(email)
        created = account.crm_created + _uniform_days(rng, 0, 30)
        out.append(
            Contact(
                contact_id=next_ids["contact"],
                first_name=first,
                last_name=last,
                email=email,
                job_title=names.JOB_TITLES[rng.integers(len(names.JOB_TITLES))],
                created=min(created, cutoff - HOUR),
                zendesk_user_id=next_ids["zendesk_user"],
                delighted_person_id=str(next_ids["person"]),
            )
        )
        next_ids["contact"] += int(rng.integers(1, 40))
        next_ids["zendesk_user"] += int(rng.integers(1, 25))
        next_ids["person"] += int(rng.integers(1, 60))
    return out


def plan_accounts(
    rng: np.random.Generator, count: int, window_start: int, cutoff: int,
    owner_ids: list[int], missing_crm_id_rate: float, personal_email_rate: float,
    crm_missing_product_id_rate: float, zendesk_missing_external_id_rate: float,
) -> list[Account]:
    """Every company's attributes and story; deterministic for a given generator."""
    segments = quota_labels(rng, count, SEGMENT_SHARES)
    n_prospects = int(round(PROSPECT_SHARE * count)) if count >= 5 else 0
    is_prospect = np.zeros(count, dtype=bool)
    is_prospect[rng.choice(count, size=n_prospects, replace=False)] = True
    company_ids = np.sort(unique_integers(rng, 5_000_000_000, 9_999_999_999, count))
    company_names = _company_names(rng, count)
    next_ids = {"contact": 1_051, "zendesk_user": 380_000_101, "person": 20_000_017}

    accounts: list[Account] = []
    for i in range(count):
        segment = segments[i]
        employees = _employees(rng, segment)
        name, domain = company_names[i]
        account = Account(
            idx=i,
            company_id=int(company_ids[i]),
            name=name,
            domain=domain,
            industry=names.INDUSTRIES[rng.integers(len(names.INDUSTRIES))],
            employees=employees,
            annual_revenue=float(round(employees * rng.uniform(60_000, 260_000), -3)),
            segment=segment,
            owner_id=owner_ids[int(rng.integers(len(owner_ids)))],
            crm_created=0,
            archetype=PROSPECT if is_prospect[i] else "",
        )
        accounts.append(account)

    customers = [a for a in accounts if a.archetype != PROSPECT]
    _assign_archetypes(rng, customers)
    span = cutoff - window_start
    for account in accounts:
        if account.archetype == PROSPECT:
            account.crm_created = _sample_time(rng, window_start - span // 10, cutoff - 7 * DAY)
        else:
            _plan_customer(rng, account, window_start, cutoff)
            account.crm_created = max(
                window_start - 120 * DAY, account.signup - _uniform_days(rng, 7, 120)
            )
        account.contacts = _contacts(rng, account, cutoff, next_ids)

    _assign_identity(
        rng, customers, missing_crm_id_rate, personal_email_rate,
        crm_missing_product_id_rate, zendesk_missing_external_id_rate,
    )
    return accounts


def _assign_archetypes(rng: np.random.Generator, customers: list[Account]) -> None:
    """Trials first (a share of them expire unpaid), then the archetypes by quota."""
    trial_flags = [rng.random() < TRIAL_SHARE[a.segment] for a in customers]
    trial_accounts = [a for a, t in zip(customers, trial_flags) if t]
    n_expired = int(round(TRIAL_EXPIRED_SHARE * len(trial_accounts)))
    expired = {a.idx for a in trial_accounts[:n_expired]}  # the list order is random
    rest = [a for a in customers if a.idx not in expired]
    labels = quota_labels(rng, len(rest), ARCHETYPE_SHARES)
    for account in customers:
        account.archetype = TRIAL_EXPIRED if account.idx in expired else ""
    for account, label in zip(rest, labels):
        account.archetype = label
    for account, has_trial in zip(customers, trial_flags):
        account.has_trial = bool(has_trial)


def _plan_customer(
    rng: np.random.Generator, account: Account, window_start: int, cutoff: int
) -> None:
    has_trial = account.has_trial
    segment, archetype = account.segment, account.archetype
    product, interval = _product_and_interval(rng, segment)
    if segment == SMB and archetype in (HEALTHY, STALLED) and rng.random() < 0.05:
        # A few small teams stay on the free Community plan: billed, but $0.
        product, interval, has_trial = "community", "month", False
        account.has_trial = False
    quantity = _seats(rng, segment)
    if product == "community":
        quantity = min(quantity, 5)

    # Leave room after signup for the story to play out before the cutoff.
    room_days = {CHURNER: 150, EXPANDER: 100, DOWNGRADER: 100, TRIAL_EXPIRED: 16}
    latest = cutoff - room_days.get(archetype, 1) * DAY
    if latest <= window_start + 2 * DAY:
        latest = max(window_start + 2 * DAY, cutoff - 20 * DAY)
    signup = _sample_time(rng, window_start, latest)
    account.signup = signup

    main = SubscriptionPlan(
        kind="main", product=product, interval=interval, created=signup, quantity=quantity
    )
    if has_trial:
        main.trial_end = signup + TRIAL_DAYS * DAY
        main.trial_converts = archetype != TRIAL_EXPIRED
        if not main.trial_converts:
            main.ends = main.trial_end
    account.main = main
    account.send_invoice = (
        segment != SMB and interval == "year" and product != "community" and rng.random() < 0.6
    )
    account.tax_rate = 0.08 if rng.random() < 0.3 else 0.0

    if archetype == CHURNER:
        _plan_churn(rng, account, cutoff, min_tenure_days=120)
    elif archetype == STALLED and rng.random() < 0.7:
        _plan_churn(rng, account, cutoff, min_tenure_days=25, max_periods=5)
    elif archetype == EXPANDER:
        _plan_expansions(rng, main, cutoff)
    elif archetype == DOWNGRADER:
        _plan_downgrade(rng, main, cutoff)

    if archetype != TRIAL_EXPIRED and product != "community" and rng.random() < PAST_DUE_SHARE:
        _plan_past_due(rng, main, cutoff)
    if (
        segment != SMB
        and archetype in (HEALTHY, EXPANDER, DOWNGRADER)
        and rng.random() < ADDON_SHARE
    ):
        _plan_addon(rng, account, cutoff)
    if product != "community" and main.trial_converts:
        main.onboarding_package = rng.random() < {SMB: 0.03, MID_MARKET: 0.15, ENTERPRISE: 0.4}[
            segment
        ]
        main.api_overage = segment != SMB and interval == "month" and rng.random() < 0.3


def _plan_churn(
    rng: np.random.Generator, account: Account, cutoff: int, min_tenure_days: int,
    max_periods: int | None = None,
) -> None:
    """End the main subscription at a period end (or by non-payment); maybe come back."""
    main = account.main
    if main.trial_end is not None and main.trial_end >= cutoff:
        return

    def candidates() -> list[int]:
        ks = []
        for k, b in enumerate(main.boundaries_before(cutoff)):
            if k == 0 or (max_periods is not None and k > max_periods):
                continue
            if b - main.created >= min_tenure_days * DAY:
                ks.append(k)
        return ks

    ks = candidates()
    if not ks and main.interval == "year":
        # No anniversary inside the window: this churner buys monthly instead.
        main.interval = "month"
        account.send_invoice = False
        ks = candidates()
    if not ks:
        min_tenure_days = min(min_tenure_days, 45)
        ks = candidates()
    if not ks:
        if account.archetype == CHURNER:
            account.archetype = HEALTHY  # the window is too short for this story
        return

    k = int(ks[int(rng.integers(len(ks)))])
    boundary = main.boundary(k)
    involuntary = (
        account.archetype == CHURNER
        and main.interval == "month"
        and boundary + 28 * DAY < cutoff
        and rng.random() < INVOLUNTARY_CHURN_SHARE
    )
    if involuntary:
        # The renewal invoice fails, dunning runs out, Stripe cancels.
        main.involuntary = True
        main.ends = boundary + _uniform_days(rng, 20, 27)
        main.past_due = (boundary, boundary + int(rng.integers(1, 6)) * HOUR, None)
    else:
        main.ends = boundary
        previous = main.boundary(k - 1)
        if main.interval == "month":
            request = boundary - _uniform_days(rng, 2, 25)
        else:
            # Annual customers give notice months ahead and keep access until
            # the end of the paid year.
            request = boundary - _uniform_days(rng, 30, 120)
        main.cancel_requested = max(request, previous + HOUR)

    # Among churners who could still come back inside the window (churned more
    # than five weeks before the cutoff).
    earliest, latest = main.ends + 30 * DAY, min(main.ends + 180 * DAY, cutoff - 7 * DAY)
    if account.archetype == CHURNER and earliest < latest and rng.random() < REACTIVATION_SHARE:
        when = (earliest + int(rng.uniform(0, 1) * (latest - earliest))) // DAY * DAY
        when += int(working_time(rng, 1)[0])
        account.reactivation = SubscriptionPlan(
            kind="reactivation",
            product=main.product,
            interval="month",
            created=when,
            quantity=max(1, int(round(main.quantity * rng.uniform(0.6, 1.0)))),
        )


def _plan_expansions(rng: np.random.Generator, main: SubscriptionPlan, cutoff: int) -> None:
    """One or two seat increases, each after the team has grown into its seats."""
    wanted = 2 if rng.random() < 0.35 else 1
    when = main.anchor + _uniform_days(rng, 60, 240)
    quantity = main.quantity
    while len(main.upgrades) < wanted and when < cutoff - 7 * DAY:
        quantity = max(quantity + 2, int(math.ceil(quantity * rng.uniform(1.25, 1.8))))
        moment = when // DAY * DAY + int(working_time(rng, 1)[0])
        main.upgrades.append((moment, quantity))
        when += _uniform_days(rng, 90, 240)


def _plan_downgrade(rng: np.random.Generator, main: SubscriptionPlan, cutoff: int) -> None:
    """Fewer seats from a renewal on (downgrades take effect at the period end)."""
    first_k = 2 if main.interval == "month" else 1
    ks = [k for k, _ in enumerate(main.boundaries_before(cutoff - DAY)) if k >= first_k]
    if not ks and main.interval == "year":
        main.interval = "month"
        ks = [k for k, _ in enumerate(main.boundaries_before(cutoff - DAY)) if k >= 2]
    if not ks:
        return
    k = ks[int(rng.integers(len(ks)))]
    new_quantity = max(1, int(math.floor(main.quantity * rng.uniform(0.5, 0.8))))
    if new_quantity < main.quantity:
        main.downgrade = (main.boundary(k), new_quantity)


def _plan_past_due(rng: np.random.Generator, main: SubscriptionPlan, cutoff: int) -> None:
    """A failed renewal payment, retried and paid weeks later (or still open)."""
    if main.past_due is not None:
        return
    stop = min(main.ends if main.ends is not None else cutoff, cutoff)
    bounds = main.boundaries_before(stop)
    if len(bounds) < 2:
        return
    k = int(rng.integers(1, len(bounds)))
    boundary = bounds[k]
    failed = boundary + int(rng.integers(1, 6)) * HOUR
    if failed >= cutoff:
        return
    paid = boundary + _uniform_days(rng, 5, 28)
    limit = main.boundary(k + 1) - DAY
    if main.ends is not None:
        limit = min(limit, main.ends - HOUR)
    if main.cancel_requested is not None and main.cancel_requested > boundary:
        limit = min(limit, main.cancel_requested - HOUR)
    paid = max(min(paid, limit), failed + HOUR)
    main.past_due = (boundary, failed, paid if paid < cutoff else None)


def _plan_addon(rng: np.random.Generator, account: Account, cutoff: int) -> None:
    """A second subscription to the analytics add-on, usually canceled later."""
    main = account.main
    start = main.anchor + _uniform_days(rng, 30, 200)
    if start > cutoff - 45 * DAY:
        return
    start = start // DAY * DAY + int(working_time(rng, 1)[0])
    addon = SubscriptionPlan(
        kind="addon",
        product="addon",
        interval="month",
        created=start,
        quantity=max(3, int(round(main.quantity * rng.uniform(0.2, 0.5)))),
    )
    if rng.random() < ADDON_CANCEL_SHARE:
        request = start + _uniform_days(rng, 45, 180)
        if request < cutoff - DAY:
            end = next(b for b in addon.boundaries_before(request + 400 * DAY) if b > request)
            addon.cancel_requested, addon.ends = request, end
    account.addon = addon


def _assign_identity(
    rng: np.random.Generator, customers: list[Account], missing_crm_id_rate: float,
    personal_email_rate: float, crm_missing_product_id_rate: float,
    zendesk_missing_external_id_rate: float,
) -> None:
    """Ids in the other systems, and which cross-system links are missing."""
    n = len(customers)
    numbers = rng.permutation(n) + 1
    org_ids = np.sort(unique_integers(rng, 360_000_000_000, 369_999_999_999, n))
    n_personal = int(round(personal_email_rate * n))
    n_missing = int(round(missing_crm_id_rate * n))
    order = rng.permutation(n)
    personal = set(order[:n_personal].tolist())
    missing = set(order[n_personal:n_personal + n_missing].tolist())
    for j, account in enumerate(customers):
        account.product_number = int(numbers[j])
        account.crm_has_product_id = rng.random() >= crm_missing_product_id_rate
        account.zendesk_org_id = int(org_ids[j])
        account.zendesk_has_external_id = rng.random() >= zendesk_missing_external_id_rate
        account.website_as_url = rng.random() < 0.3
        account.customer_has_crm_id = j not in personal and j not in missing
        if j in personal:
            contact = account.contacts[0]
            domain = names.PERSONAL_EMAIL_DOMAINS[rng.integers(len(names.PERSONAL_EMAIL_DOMAINS))]
            local = f"{ascii_slug(contact.first_name)}{ascii_slug(contact.last_name)}"
            account.personal_email = f"{local}{int(rng.integers(10, 99))}@{domain}"
