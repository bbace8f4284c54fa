"""Stripe coupons, and which paying subscriptions get a discount from one.

A coupon is a reusable discount definition (a percentage or an amount off,
for ``once``, ``repeating`` months or ``forever``); a discount is one coupon
applied to one subscription from ``start`` to ``end`` (``None`` for forever).

A discount changes what the customer pays, never the list price: an invoice
whose period starts while the discount applies keeps its line amounts and
``subtotal`` at list price, and the discount comes off before tax, so
``subtotal - discount + tax = total`` (``billing.py`` does the arithmetic).

About 8% of paying main subscriptions get exactly one discount, as a quota
like the other shares of the plan. One to three of them (never fewer than one
once there are 50 paying accounts) are 100% off forever: friends and family
who pay nothing, an edge case every revenue model has to survive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .accounts import SMB, Account, SubscriptionPlan
from .common import add_months, weighted_choice

FOREVER, ONCE, REPEATING = "forever", "once", "repeating"


@dataclass(frozen=True)
class Coupon:
    id: str
    name: str
    duration: str
    percent_off: float | None = None
    amount_off: int | None = None  # cents, in ``currency``
    currency: str | None = None
    duration_in_months: int | None = None
    valid: bool = True
    # How the planner hands the coupon out: its weight among ordinary discounts
    # (0: never drawn) and which subscriptions it suits.
    weight: float = 0.0
    interval: str | None = None  # only for plans billed by this interval
    sales_led: bool = False  # a sales concession: mid-market and enterprise only
    at_signup: bool = False  # a welcome offer: starts with the first paid period

    def suits(self, account: Account) -> bool:
        main = account.main
        if self.interval is not None and main.interval != self.interval:
            return False
        return not (self.sales_led and account.segment == SMB)


FRIENDS_FAMILY = "friends_family_100"

COUPONS: dict[str, Coupon] = {c.id: c for c in (
    Coupon("partner20", "Partner program 20% off", FOREVER, percent_off=20.0, weight=3.0),
    Coupon("annual_launch_10", "Annual plan launch 10% off", FOREVER, percent_off=10.0,
           weight=2.0, interval="year", at_signup=True),
    Coupon("welcome3m", "Welcome 25% off for 3 months", REPEATING, percent_off=25.0,
           duration_in_months=3, weight=3.0, interval="month", at_signup=True),
    Coupon("first_month_50", "First month 50% off", ONCE, percent_off=50.0, weight=2.0,
           interval="month", at_signup=True),
    Coupon(FRIENDS_FAMILY, "Friends & family", FOREVER, percent_off=100.0),
    # Never larger than an invoice of the accounts it suits (at least 7 seats of
    # the cheapest plan), so a renewal invoice is never fully covered by it.
    Coupon("flat_100_off", "$100 off", FOREVER, amount_off=10_000, currency="usd",
           weight=1.5, sales_led=True),
    # Retired promotion: exists in Stripe, can no longer be redeemed, on no subscription.
    Coupon("black_friday_30", "Black Friday 30% off first invoice", ONCE, percent_off=30.0,
           valid=False),
)}

DISCOUNT_SHARE = 0.08
# Of discounts whose coupon is not a welcome offer: granted at a later renewal.
LATER_START_SHARE = 0.25
FRIENDS_FAMILY_MIN_PAYING = 50
FRIENDS_FAMILY_PER_PAYING = 200
FRIENDS_FAMILY_MAX = 3


@dataclass(frozen=True)
class Discount:
    coupon: Coupon
    start: int
    end: int | None  # None: forever

    def applies_to(self, period_start: int) -> bool:
        """Whether the invoice of a period starting at ``period_start`` is discounted."""
        return self.start <= period_start and (self.end is None or period_start < self.end)

    def amount(self, subtotal: int) -> int:
        """Cents taken off an invoice subtotal (never more than the subtotal)."""
        if subtotal <= 0:
            return 0
        if self.coupon.percent_off is not None:
            # Half-up on whole cents in integer arithmetic, so the tests can
            # recompute the very same amount in SQL.
            basis_points = round(self.coupon.percent_off * 100)
            return (subtotal * basis_points + 5_000) // 10_000
        return min(self.coupon.amount_off, subtotal)


def plan_discounts(rng: np.random.Generator, paying: list[Account], cutoff: int) -> None:
    """Set ``main.discount`` on a quota of the paying accounts (the rest keep ``None``)."""
    count = int(round(DISCOUNT_SHARE * len(paying)))
    family_count = 0
    if len(paying) >= FRIENDS_FAMILY_MIN_PAYING:
        family_count = min(FRIENDS_FAMILY_MAX,
                           max(1, round(len(paying) / FRIENDS_FAMILY_PER_PAYING)))
    order = [paying[i] for i in rng.permutation(len(paying))]
    # A $0 invoice cannot fail, so an account with a past-due spell in its
    # story is never one of the friends and family.
    family = [a for a in order if a.main.past_due is None][:family_count]
    family_ids = {a.idx for a in family}
    others = [a for a in order if a.idx not in family_ids][:max(0, count - len(family))]

    for account in family:
        account.main.discount = _discount(rng, COUPONS[FRIENDS_FAMILY], account.main, cutoff)
    for account in others:
        options = [c for c in COUPONS.values() if c.weight > 0 and c.suits(account)]
        coupon = weighted_choice(rng, options, [c.weight for c in options])
        account.main.discount = _discount(rng, coupon, account.main, cutoff)


def _discount(
    rng: np.random.Generator, coupon: Coupon, main: SubscriptionPlan, cutoff: int
) -> Discount:
    """The coupon applied at the first paid period start, or now and then at a renewal."""
    stop = min(main.ends if main.ends is not None else cutoff, cutoff)
    bounds = main.boundaries_before(stop)
    k = 0
    if not coupon.at_signup and len(bounds) > 1 and rng.random() < LATER_START_SHARE:
        k = int(rng.integers(1, len(bounds)))
    start = bounds[k]
    if coupon.duration == FOREVER:
        end = None
    elif coupon.duration == REPEATING:
        end = add_months(start, coupon.duration_in_months)
    else:
        # Once: the one billing period that starts with the discount.
        end = main.boundary(k + 1)
    return Discount(coupon, start, end)
