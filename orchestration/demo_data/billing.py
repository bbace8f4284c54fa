"""Stripe, as Fivetran lands it: the billing story of each account rendered as rows.

Subscriptions are synced in history mode: every change to a subscription
(trial -> active, a new billing period, a seat change, past_due, a
cancellation request, the end) closes the current version (``_fivetran_end``)
and opens a new one at the same instant (``_fivetran_start``). Because the
billing period fields change at every renewal, a monthly subscription gets a
new version every month, exactly as the real connector produces.

Invoices: one per billing period per subscription (``subscription_create`` for
the first, ``subscription_cycle`` after), one ``subscription_update`` invoice
with two proration lines per mid-period seat increase. Seat decreases take
effect at the next renewal, so they need no credit note.

A trial invoice for $0 is not written: an expired trial then has no invoice at
all, which is what downstream revenue logic should see.

Coupons are a small catalogue like the prices (``coupons.py``). A main
subscription with a discount gets one ``discount`` row, and every invoice whose
period starts while the discount applies is reduced by it: lines and
``subtotal`` stay at list price, ``total = subtotal - discount + tax`` (tax on
the discounted amount), and a fully discounted invoice is paid at once for $0.
Coupon and discount rows draw their randomness from a stream of their own, so
adding them left every other row as it was, except the discounted invoices
(and the sync times that follow when such an invoice is paid at once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .accounts import Account, SubscriptionPlan
from .common import DAY, END_OF_TIME, HOUR, MINUTE, random_ids
from .coupons import COUPONS, Discount
from .writer import TableBuilder


@dataclass(frozen=True)
class Price:
    id: str
    product: str
    unit_amount: int
    type: str = "recurring"
    interval: str | None = "month"
    usage_type: str | None = "licensed"
    nickname: str = ""
    active: bool = True


PRODUCTS = {
    "starter": ("prod_starter", "Starter"),
    "growth": ("prod_growth", "Growth"),
    "enterprise": ("prod_enterprise", "Enterprise"),
    "addon": ("prod_analytics_addon", "Analytics add-on"),
    "community": ("prod_community", "Community"),
    "onboarding": ("prod_onboarding", "Onboarding package"),
    "api_overage": ("prod_api_overage", "API overage"),
}

# Per seat per month, in cents; annual prices are ten months' worth.
MONTHLY_CENTS = {"starter": 2_500, "growth": 4_500, "enterprise": 8_000, "addon": 1_000}


def _catalogue() -> dict[str, Price]:
    prices: dict[str, Price] = {}
    for product, monthly in MONTHLY_CENTS.items():
        label = PRODUCTS[product][1]
        prices[f"{product}_month"] = Price(
            f"price_{product}_monthly", product, monthly, nickname=f"{label} monthly"
        )
        prices[f"{product}_year"] = Price(
            f"price_{product}_annual", product, monthly * 10, interval="year",
            nickname=f"{label} annual",
        )
    prices["community_month"] = Price("price_community_free", "community", 0,
                                      nickname="Community (free)")
    prices["onboarding"] = Price(
        "price_onboarding_package", "onboarding", 150_000, type="one_time", interval=None,
        usage_type=None, nickname="Onboarding package",
    )
    prices["api_overage"] = Price(
        "price_api_overage_1k", "api_overage", 50, usage_type="metered",
        nickname="API overage per 1,000 calls",
    )
    # Retired list price: exists in Stripe, used by no current subscription.
    prices["starter_month_legacy"] = Price(
        "price_starter_monthly_2022", "starter", 2_000, nickname="Starter monthly (2022)",
        active=False,
    )
    return prices


PRICES = _catalogue()


def price_of(plan: SubscriptionPlan) -> Price:
    return PRICES[f"{plan.product}_{plan.interval}"]


def annual_value_dollars(plan: SubscriptionPlan, quantity: int) -> float:
    """Annual recurring value of ``quantity`` seats of the plan's price, in dollars."""
    price = price_of(plan)
    per_year = 12 if plan.interval == "month" else 1
    return price.unit_amount * quantity * per_year / 100


class IdPool:
    """Stripe-style random ids drawn in batches (fast, unique within the pool)."""

    def __init__(self, rng: np.random.Generator, prefix: str, batch: int = 4096) -> None:
        self.rng, self.prefix, self.batch = rng, prefix, batch
        self._seen: set[str] = set()
        self._queue: list[str] = []

    def next(self) -> str:
        while not self._queue:
            batch = random_ids(self.rng, self.prefix, self.batch)
            fresh = [i for i in batch if i not in self._seen]
            self._seen.update(fresh)
            self._queue = fresh[::-1]
        return self._queue.pop()


class StripeRenderer:
    """Collects the Stripe tables while accounts are rendered one by one.

    ``discount_rng`` is used for coupon and discount rows only (see the module doc).
    """

    def __init__(
        self, rng: np.random.Generator, cutoff: int, window_start: int,
        discount_rng: np.random.Generator,
    ) -> None:
        self.rng = rng
        self.discount_rng = discount_rng
        self.cutoff = cutoff
        self.window_start = window_start
        self.customers = TableBuilder("stripe", "customer")
        self.history = TableBuilder("stripe", "subscription_history")
        self.items = TableBuilder("stripe", "subscription_item")
        self.prices = TableBuilder("stripe", "price")
        self.products = TableBuilder("stripe", "product")
        self.invoices = TableBuilder("stripe", "invoice")
        self.lines = TableBuilder("stripe", "invoice_line_item")
        self.coupons = TableBuilder("stripe", "coupon")
        self.discounts = TableBuilder("stripe", "discount")
        self.ids = {p: IdPool(rng, p) for p in ("cus_", "sub_", "si_", "in_", "il_")}
        self.ids["di_"] = IdPool(discount_rng, "di_", batch=256)
        # (account index, plan kind) -> subscription id, for the truth table.
        self.subscription_ids: dict[tuple[int, str], str] = {}

    def synced(self, last_change: int, rng: np.random.Generator | None = None) -> int:
        """When the connector picked up a row: shortly after its last change."""
        lag = int((rng or self.rng).integers(2 * MINUTE, 6 * HOUR))
        return int(min(max(last_change, self.window_start) + lag, self.cutoff - 1))

    def resynced(self, rng: np.random.Generator | None = None) -> int:
        """Small lookup tables are re-imported in full on every sync: a recent instant."""
        return int(self.cutoff - (rng or self.rng).integers(HOUR, 20 * HOUR))

    def render_catalogue(self) -> None:
        catalogue_created = self.window_start - 400 * DAY
        for key, (product_id, name) in PRODUCTS.items():
            created = catalogue_created + len(self.products) * 3 * DAY
            self.products.add(
                id=product_id, name=name, active=True, created=created,
                updated=created + 30 * DAY, is_deleted=False,
                _fivetran_synced=self.resynced(),
            )
        for price in PRICES.values():
            created = catalogue_created + len(self.prices) * DAY
            self.prices.add(
                id=price.id, product_id=PRODUCTS[price.product][0], active=price.active,
                currency="usd", unit_amount=price.unit_amount, type=price.type,
                recurring_interval=price.interval,
                recurring_interval_count=1 if price.interval else None,
                recurring_usage_type=price.usage_type, nickname=price.nickname,
                created=created, metadata=json.dumps({"catalogue": "2023"}),
                _fivetran_synced=self.resynced(),
            )
        # Coupons predate the window, so every discount starts after its coupon.
        for i, coupon in enumerate(COUPONS.values()):
            self.coupons.add(
                id=coupon.id, name=coupon.name, percent_off=coupon.percent_off,
                amount_off=coupon.amount_off, currency=coupon.currency,
                duration=coupon.duration, duration_in_months=coupon.duration_in_months,
                valid=coupon.valid, created=catalogue_created + (200 + 20 * i) * DAY,
                _fivetran_synced=self.resynced(self.discount_rng),
            )

    # Accounts -------------------------------------------------------------

    def render_account(self, account: Account) -> None:
        if account.main is None:
            return
        customer_id = self.ids["cus_"].next()
        account.stripe_customer_id = customer_id
        created = account.main.created - int(self.rng.integers(5, 600))
        last_change = created
        delinquent = False
        for plan in (account.main, account.addon, account.reactivation):
            if plan is None:
                continue
            change, late = self._render_subscription(account, customer_id, plan)
            last_change = max(last_change, change)
            delinquent = delinquent or late

        metadata = {"signup_channel": "self_serve" if account.has_trial else "sales"}
        if account.customer_has_crm_id:
            metadata = {"hubspot_company_id": str(account.company_id), **metadata}
        if account.personal_email is not None:
            email = account.personal_email
        else:
            email = account.contacts[0].email
        self.customers.add(
            id=customer_id, created=created, email=email,
            name=account.name + (" Inc." if account.idx % 5 == 0 else ""),
            currency="usd", delinquent=delinquent, is_deleted=False, livemode=True,
            metadata=json.dumps(metadata), _fivetran_synced=self.synced(last_change),
        )

    def _render_subscription(
        self, account: Account, customer_id: str, plan: SubscriptionPlan
    ) -> tuple[int, bool]:
        """Versions, item, invoices of one subscription; returns (last change, delinquent)."""
        sub_id, item_id = self.ids["sub_"].next(), self.ids["si_"].next()
        self.subscription_ids[(account.idx, plan.kind)] = sub_id
        versions = self._versions(plan)
        metadata = json.dumps({"plan": plan.product, "kind": plan.kind})
        for i, (start, state) in enumerate(versions):
            last = i == len(versions) - 1
            self.history.add(
                id=sub_id, customer_id=customer_id, created=plan.created,
                start_date=plan.created, trial_start=plan.created if plan.trial_end else None,
                trial_end=plan.trial_end, billing_cycle_anchor=plan.anchor, metadata=metadata,
                _fivetran_start=start,
                _fivetran_end=END_OF_TIME if last else versions[i + 1][0],
                _fivetran_active=last, _fivetran_synced=self.synced(start), **state,
            )
        if plan.discount is not None:
            discount = plan.discount
            self.discounts.add(
                id=self.ids["di_"].next(), coupon_id=discount.coupon.id,
                customer_id=customer_id, subscription_id=sub_id, start=discount.start,
                end=discount.end, _fivetran_synced=self.synced(discount.start, self.discount_rng),
            )
        final = versions[-1][1]
        self.items.add(
            id=item_id, subscription_id=sub_id, price_id=price_of(plan).id,
            quantity=final["quantity"], created=plan.created,
            _fivetran_synced=self.synced(versions[-1][0]),
        )
        last_change = self._invoices(account, customer_id, sub_id, item_id, plan, versions)
        delinquent = final["status"] in ("past_due", "unpaid") or (
            plan.involuntary and final["status"] == "canceled"
        )
        return max(last_change, versions[-1][0]), delinquent

    def _stop(self, plan: SubscriptionPlan) -> int:
        if plan.trial_end is not None and not plan.trial_converts:
            return min(plan.trial_end, self.cutoff)
        return min(plan.ends if plan.ends is not None else self.cutoff, self.cutoff)

    def _versions(self, plan: SubscriptionPlan) -> list[tuple[int, dict]]:
        """(start, state) of every version, oldest first."""
        cutoff, rng = self.cutoff, self.rng
        stop = self._stop(plan)
        bounds = [] if not plan.trial_converts else plan.boundaries_before(stop)
        state = {
            "status": "trialing" if plan.trial_end else "active",
            "current_period_start": plan.created,
            "current_period_end": plan.trial_end or plan.boundary(1),
            "cancel_at": None, "cancel_at_period_end": False, "canceled_at": None,
            "ended_at": None, "quantity": plan.quantity,
        }
        # (when, tie-break order, changes)
        events: list[tuple[int, int, dict]] = []
        for k, boundary in enumerate(bounds):
            if k == 0 and plan.trial_end is None:
                continue  # the creation version already covers the first period
            change = {"current_period_start": boundary,
                      "current_period_end": plan.boundary(k + 1)}
            if k == 0:
                change["status"] = "active"
            if plan.downgrade is not None and plan.downgrade[0] == boundary:
                change["quantity"] = plan.downgrade[1]
            events.append((boundary, 1, change))
        for when, quantity in plan.upgrades:
            if when < stop:
                events.append((when, 2, {"quantity": quantity}))
        if plan.past_due is not None:
            _, failed, paid = plan.past_due
            events.append((failed, 3, {"status": "past_due"}))
            if paid is not None:
                events.append((paid, 3, {"status": "active"}))
            if plan.involuntary:
                unpaid = min(failed + int(rng.integers(10, 17)) * DAY, plan.ends - DAY)
                events.append((unpaid, 3, {"status": "unpaid"}))
        if plan.cancel_requested is not None:
            events.append((plan.cancel_requested, 4, {
                "cancel_at_period_end": True, "cancel_at": plan.ends,
                "canceled_at": plan.cancel_requested,
            }))
        if plan.ends is not None:
            if plan.trial_end is not None and not plan.trial_converts:
                status = "incomplete_expired" if rng.random() < 0.3 else "canceled"
                end = {"status": status, "ended_at": plan.ends, "canceled_at": plan.ends}
            elif plan.involuntary:
                end = {"status": "canceled", "ended_at": plan.ends, "canceled_at": plan.ends}
            else:
                end = {"status": "canceled", "ended_at": plan.ends}
            events.append((plan.ends, 5, end))

        versions = [(plan.created, dict(state))]
        for when, _, change in sorted(events, key=lambda e: (e[0], e[1])):
            if when >= cutoff or when < plan.created:
                continue
            state.update(change)
            if versions[-1][0] == when:
                versions[-1] = (when, dict(state))
            else:
                versions.append((when, dict(state)))
        return versions

    def _invoices(
        self, account: Account, customer_id: str, sub_id: str, item_id: str,
        plan: SubscriptionPlan, versions: list[tuple[int, dict]],
    ) -> int:
        rng = self.rng
        price = price_of(plan)
        stop = self._stop(plan)
        bounds = [] if not plan.trial_converts else plan.boundaries_before(stop)

        def discount_at(period_start: int) -> Discount | None:
            """The discount on the invoice of a period starting then, if any."""
            applies = plan.discount is not None and plan.discount.applies_to(period_start)
            return plan.discount if applies else None

        def version_at(when: int) -> dict:
            current = versions[0][1]
            for start, state in versions:
                if start > when:
                    break
                current = state
            return current

        last_change = plan.created
        for k, boundary in enumerate(bounds):
            period_end = plan.boundary(k + 1)
            quantity = version_at(boundary)["quantity"]
            lines = [("subscription", item_id, price.id, quantity,
                      quantity * price.unit_amount, boundary, period_end, False)]
            if k == 0 and plan.onboarding_package:
                one_time = PRICES["onboarding"]
                lines.append(("invoiceitem", None, one_time.id, 1, one_time.unit_amount,
                              boundary, boundary, False))
            if plan.api_overage and k >= 1 and rng.random() < 0.5:
                # Metered usage is billed in arrears, for the period just ended.
                units = int(rng.lognormal(3.0, 0.8)) + 1
                overage = PRICES["api_overage"]
                lines.append(("subscription", None, overage.id, units,
                              units * overage.unit_amount, bounds[k - 1], boundary, False))
            created = boundary + int(rng.integers(MINUTE, 30 * MINUTE))
            reason = "subscription_create" if k == 0 else "subscription_cycle"
            status, settled = self._settle(account, plan, boundary, created)
            # A botched invoice: voided and reissued by hand a day or two later,
            # only when the reissue lands before the cutoff (else it would be
            # created after the data was synced).
            if (
                status == "paid" and k >= 1 and price.unit_amount
                and rng.random() < 0.01 and created + 3 * DAY < self.cutoff
            ):
                voided = created + int(rng.integers(2 * HOUR, DAY))
                self._invoice(customer_id, sub_id, account, reason, created, boundary,
                              period_end, lines, "void", voided, discount_at(boundary))
                created = voided + int(rng.integers(HOUR, 2 * DAY))
                reason = "manual"
                status, settled = self._settle(account, plan, boundary, created)
            change = self._invoice(customer_id, sub_id, account, reason, created, boundary,
                                   period_end, lines, status, settled, discount_at(boundary))
            last_change = max(last_change, change)

        for when, quantity in plan.upgrades:
            if when >= stop:
                continue
            before, after = version_at(when - 1), version_at(when)
            period_start, period_end = after["current_period_start"], after["current_period_end"]
            share = (period_end - when) / (period_end - period_start)
            old, unit = before["quantity"], price.unit_amount
            lines = [
                ("subscription", item_id, price.id, old, -round(old * unit * share),
                 when, period_end, True),
                ("subscription", item_id, price.id, quantity, round(quantity * unit * share),
                 when, period_end, True),
            ]
            created = when + int(rng.integers(MINUTE, 10 * MINUTE))
            status, settled = self._settle(account, plan, None, created)
            change = self._invoice(customer_id, sub_id, account, "subscription_update", created,
                                   when, period_end, lines, status, settled, discount_at(when))
            last_change = max(last_change, change)
        return last_change

    def _settle(
        self, account: Account, plan: SubscriptionPlan, boundary: int | None, created: int
    ) -> tuple[str, int | None]:
        """(status, when it reached that status) of an invoice as of the cutoff."""
        rng, cutoff = self.rng, self.cutoff
        if plan.past_due is not None and boundary == plan.past_due[0]:
            paid = plan.past_due[2]
            if paid is not None:
                return "paid", paid
            if plan.involuntary and plan.ends is not None and plan.ends < cutoff:
                return "uncollectible", plan.ends
            return "open", None
        if account.send_invoice and plan.kind == "main":
            paid = created + int(rng.uniform(3, 40) * DAY)
        else:
            paid = created + int(rng.integers(MINUTE, HOUR))
        if paid >= cutoff:
            return "open", None
        return "paid", paid

    def _invoice(
        self, customer_id: str, sub_id: str | None, account: Account, reason: str,
        created: int, period_start: int, period_end: int, lines: list[tuple],
        status: str, settled: int | None, discount: Discount | None = None,
    ) -> int:
        invoice_id = self.ids["in_"].next()
        subtotal = sum(line[4] for line in lines)
        taxable = subtotal - (discount.amount(subtotal) if discount is not None else 0)
        tax = int(round(taxable * account.tax_rate)) if taxable > 0 else 0
        total = taxable + tax
        due = max(total, 0)
        if discount is not None and due == 0 and status in ("open", "paid"):
            # Nothing to collect: Stripe marks a fully discounted invoice paid
            # as soon as it is finalized, whatever the collection method.
            status, settled = "paid", created
        paid = due if status == "paid" else 0
        remaining = 0 if status in ("paid", "void") else due
        last_change = settled if settled is not None else created
        synced = self.synced(last_change)
        self.invoices.add(
            id=invoice_id, customer_id=customer_id, subscription_id=sub_id, status=status,
            billing_reason=reason, created=created,
            due_date=created + 30 * DAY if account.send_invoice else None,
            period_start=period_start, period_end=period_end, amount_due=due,
            amount_paid=paid, amount_remaining=remaining, subtotal=subtotal, tax=tax,
            total=total, currency="usd", paid=status == "paid", _fivetran_synced=synced,
        )
        for kind, item_id, price_id, quantity, amount, start, end, proration in lines:
            self.lines.add(
                id=self.ids["il_"].next(), invoice_id=invoice_id,
                subscription_id=sub_id if item_id or kind == "subscription" else None,
                subscription_item_id=item_id, price_id=price_id, amount=amount,
                currency="usd", quantity=quantity, period_start=start, period_end=end,
                proration=proration, type=kind, _fivetran_synced=synced,
            )
        return last_change


def first_paid_at(account: Account, cutoff: int) -> int | None:
    """When the account first paid (trial conversion or signup), for cohorts and CAC."""
    main = account.main
    if main is None or not main.trial_converts or main.product == "community":
        return None
    return main.anchor if main.anchor < cutoff else None
