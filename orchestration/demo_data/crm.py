"""HubSpot, as Fivetran lands it: owners, companies, contacts, deals and engagements.

The CRM is the account of record: every company exists here, customers and
prospects alike. Deals follow the billing story (new business at conversion,
existing business for seat expansions and the add-on, renewals for annual
plans, closed-lost for prospects and expired trials); engagements are the CSM's
touches, denser during onboarding and thinner in the months before a churn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import names
from .accounts import CHURNER, Account
from .billing import annual_value_dollars
from .common import DAY, HOUR, MINUTE, unique_integers, working_time
from .writer import TableBuilder

PORTAL_ID = 4_471_230
ENGAGEMENT_TYPES = ["EMAIL", "CALL", "MEETING", "NOTE", "TASK"]
ENGAGEMENT_MIX = [0.35, 0.15, 0.20, 0.20, 0.10]
# Engagements per 30 days by segment.
ENGAGEMENT_RATE = {"smb": 1.2, "mid_market": 2.5, "enterprise": 4.5}
OPEN_STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
               "decisionmakerboughtin", "contractsent"]


@dataclass(frozen=True)
class Owner:
    owner_id: int
    first_name: str
    last_name: str
    role: str  # csm or ae

    @property
    def email(self) -> str:
        from .accounts import ascii_slug

        return f"{ascii_slug(self.first_name)}.{ascii_slug(self.last_name)}@{names.VENDOR_DOMAIN}"


def make_owners(rng: np.random.Generator) -> list[Owner]:
    people = [(f, last, "csm") for f, last in names.CSM_NAMES]
    people += [(f, last, "ae") for f, last in names.AE_NAMES]
    ids = np.sort(unique_integers(rng, 60_000_000, 99_999_999, len(people)))
    return [Owner(int(i), f, last, role) for i, (f, last, role) in zip(ids, people)]


class CrmRenderer:
    def __init__(
        self, rng: np.random.Generator, cutoff: int, window_start: int, owners: list[Owner]
    ) -> None:
        self.rng, self.cutoff, self.window_start = rng, cutoff, window_start
        self.owners = owners
        self.account_executives = [o.owner_id for o in owners if o.role == "ae"]
        self.owner_table = TableBuilder("hubspot", "owner")
        self.companies = TableBuilder("hubspot", "company")
        self.contacts = TableBuilder("hubspot", "contact")
        self.deals = TableBuilder("hubspot", "deal")
        self.deal_companies = TableBuilder("hubspot", "deal_company")
        self.engagements = TableBuilder("hubspot", "engagement")
        self.engagement_companies = TableBuilder("hubspot", "engagement_company")
        self.meetings = TableBuilder("hubspot", "engagement_meeting")
        self._deals: list[dict] = []
        self._engagements: list[tuple] = []
        self.open_deal_companies: set[int] = set()

    def synced(self, last_change: int) -> int:
        lag = int(self.rng.integers(5 * MINUTE, 8 * HOUR))
        return int(min(max(last_change, self.window_start) + lag, self.cutoff - 1))

    def render_owners(self) -> None:
        for j, owner in enumerate(self.owners):
            created = self.window_start - (700 - 40 * j) * DAY
            self.owner_table.add(
                owner_id=owner.owner_id, email=owner.email, first_name=owner.first_name,
                last_name=owner.last_name, active_user_id=owner.owner_id + 1_000_000_000,
                created_at=created, updated_at=created + 90 * DAY,
                # Owners are re-imported in full on every sync.
                _fivetran_synced=int(self.cutoff - self.rng.integers(HOUR, 20 * HOUR)),
            )

    # Per account ------------------------------------------------------------

    def render_account(self, account: Account) -> None:
        self._plan_deals(account)
        self._plan_engagements(account)
        for contact in account.contacts:
            self.contacts.add(
                id=contact.contact_id, property_email=contact.email,
                property_firstname=contact.first_name, property_lastname=contact.last_name,
                property_jobtitle=contact.job_title,
                property_associatedcompanyid=account.company_id,
                property_createdate=contact.created, _fivetran_deleted=False,
                _fivetran_synced=self.synced(contact.created),
            )
        changes = [account.crm_created]
        main = account.main
        if main is not None:
            changes += [main.created, main.anchor] + [w for w, _ in main.upgrades]
            if main.ends is not None:
                changes.append(main.ends)
            if account.reactivation is not None:
                changes.append(account.reactivation.created)
        last_modified = max(c for c in changes if c < self.cutoff) + int(
            self.rng.integers(MINUTE, 3 * HOUR)
        )
        last_modified = min(last_modified, self.cutoff - 2)
        product_id = account.product_account_id if account.crm_has_product_id else None
        self.companies.add(
            id=account.company_id, portal_id=PORTAL_ID, is_deleted=False,
            _fivetran_deleted=False, _fivetran_synced=self.synced(last_modified),
            property_name=account.name, property_domain=account.domain,
            property_industry=account.industry,
            property_numberofemployees=account.employees,
            property_annualrevenue=account.annual_revenue,
            property_lifecyclestage=self._lifecycle(account),
            property_hubspot_owner_id=account.owner_id,
            property_createdate=account.crm_created,
            property_hs_lastmodifieddate=last_modified,
            property_product_account_id=product_id,
        )

    def _lifecycle(self, account: Account) -> str:
        main = account.main
        if main is None:
            return "opportunity" if account.company_id in self.open_deal_companies else "lead"
        if not main.trial_converts or main.anchor >= self.cutoff:
            return "opportunity"
        if account.reactivation is not None or main.ends is None or main.ends >= self.cutoff:
            return "customer"
        return "other"

    def _deal(self, account: Account, name: str, dealtype: str | None, stage: str,
              amount: float | None, created: int, closes: int, owner: int) -> None:
        self._deals.append({
            "company_id": account.company_id, "name": f"{account.name} - {name}",
            "dealtype": dealtype, "stage": stage, "amount": amount,
            "created": min(created, self.cutoff - HOUR), "closes": closes, "owner": owner,
        })

    def _plan_deals(self, account: Account) -> None:
        rng, cutoff = self.rng, self.cutoff
        ae = self.account_executives[account.idx % len(self.account_executives)]
        main = account.main
        if main is None:
            if rng.random() < 0.6:
                created = account.crm_created + int(rng.uniform(5, 60) * DAY)
                closes = created + int(rng.uniform(20, 90) * DAY)
                if created < cutoff:
                    if closes < cutoff and rng.random() < 0.75:
                        stage = "closedlost"
                    else:
                        stage = OPEN_STAGES[int(rng.integers(len(OPEN_STAGES)))]
                        self.open_deal_companies.add(account.company_id)
                    seats = int(rng.integers(5, 60))
                    self._deal(account, "New Business", "newbusiness", stage,
                               float(seats * 45 * 12), created, closes, ae)
            return

        first_value = annual_value_dollars(main, main.quantity)
        sales_start = max(account.crm_created, main.created - int(rng.uniform(10, 60) * DAY))
        if not main.trial_converts:
            self._deal(account, "New Business", "newbusiness", "closedlost", first_value,
                       sales_start, main.trial_end, ae)
        elif main.anchor >= cutoff:
            self._deal(account, "New Business", "newbusiness", "decisionmakerboughtin",
                       first_value, sales_start, main.anchor, ae)
        elif main.product != "community":
            self._deal(account, "New Business", "newbusiness", "closedwon", first_value,
                       sales_start, main.anchor, ae)
        csm = account.owner_id
        quantity = main.quantity
        for when, new_quantity in main.upgrades:
            if when < cutoff:
                delta = annual_value_dollars(main, new_quantity - quantity)
                self._deal(account, f"Expansion +{new_quantity - quantity} seats",
                           "existingbusiness", "closedwon", delta,
                           when - int(rng.uniform(14, 45) * DAY), when, csm)
            quantity = new_quantity
        if account.addon is not None:
            addon = account.addon
            self._deal(account, "Analytics add-on", "existingbusiness", "closedwon",
                       annual_value_dollars(addon, addon.quantity),
                       addon.created - int(rng.uniform(10, 40) * DAY), addon.created, csm)
        if main.interval == "year" and main.trial_converts:
            self._plan_renewals(account, csm)
        if account.reactivation is not None:
            again = account.reactivation
            self._deal(account, "Reactivation", "newbusiness", "closedwon",
                       annual_value_dollars(again, again.quantity),
                       again.created - int(rng.uniform(7, 30) * DAY), again.created, csm)

    def _plan_renewals(self, account: Account, csm: int) -> None:
        """A renewal deal per anniversary; lost when the customer gave notice."""
        main, cutoff = account.main, self.cutoff
        k = 1
        while True:
            anniversary = main.boundary(k)
            created = anniversary - 90 * DAY
            if created >= cutoff or (main.ends is not None and anniversary > main.ends):
                break
            seats = [q for w, q in main.seat_changes() if w <= anniversary][-1]
            value = annual_value_dollars(main, seats)
            if main.ends is not None and anniversary == main.ends:
                closes = main.cancel_requested or anniversary
                stage = "closedlost" if closes < cutoff else "contractsent"
            elif anniversary < cutoff:
                closes, stage = anniversary, "closedwon"
            else:
                closes, stage = anniversary, OPEN_STAGES[int(self.rng.integers(2, 5))]
            self._deal(account, f"Renewal {k}", "renewal", stage, value, created, closes, csm)
            k += 1

    def _plan_engagements(self, account: Account) -> None:
        rng, cutoff = self.rng, self.cutoff
        main = account.main
        if main is None:
            start, end = account.crm_created, min(account.crm_created + 120 * DAY, cutoff)
            spans = [(start, end)]
        else:
            spans = [(max(account.crm_created, main.created - 30 * DAY), None)]
            churn = account.churned_at(cutoff)
            if not main.trial_converts:
                spans = [(spans[0][0], main.trial_end + 14 * DAY)]
            elif churn is not None:
                spans = [(spans[0][0], churn)]
                if account.reactivation is not None:
                    spans.append((account.reactivation.created - 14 * DAY, cutoff))
            else:
                spans = [(spans[0][0], cutoff)]
        first_day = spans[0][0] // DAY
        last_day = (min(cutoff, max(e for _, e in spans)) - 1) // DAY
        if last_day < first_day:
            return
        days = np.arange(first_day, last_day + 1)
        rate = np.zeros(days.shape[0])
        for start, end in spans:
            rate[(days >= start // DAY) & (days < min(end, cutoff) // DAY + 1)] = 1.0
        rate *= ENGAGEMENT_RATE[account.segment] / 30
        weekday = (days + 3) % 7
        rate *= np.where(weekday >= 5, 0.05, 1.3)
        if main is not None:
            onboarding = (days >= main.created // DAY) & (days < main.created // DAY + 45)
            rate[onboarding] *= 2.0
            churn = account.churned_at(cutoff)
            if churn is not None and account.archetype == CHURNER:
                # A customer on the way out stops taking the CSM's calls.
                fading = (days >= churn // DAY - 90) & (days < churn // DAY)
                rate[fading] *= 0.35
        counts = rng.poisson(rate)
        day_of = np.repeat(days, counts)
        ts = day_of * DAY + working_time(rng, day_of.shape[0], busy_share=0.95)
        kinds = rng.choice(len(ENGAGEMENT_TYPES), size=ts.shape[0], p=ENGAGEMENT_MIX)
        for when, kind in zip(ts.tolist(), kinds.tolist()):
            if when >= cutoff:
                continue
            selling = main is None or when < main.anchor
            owner = (self.account_executives[account.idx % len(self.account_executives)]
                     if selling else account.owner_id)
            self._engagements.append(
                (when, account.company_id, ENGAGEMENT_TYPES[kind], owner, account)
            )

    def _meeting_title(self, account: Account, when: int) -> str:
        main = account.main
        if main is None or when < main.created:
            key = "discovery"
        elif when < main.created + 45 * DAY:
            key = "onboarding"
        elif any(0 <= w - when < 30 * DAY for w, _ in main.upgrades):
            key = "expansion"
        elif main.interval == "year" and any(
            0 <= main.boundary(k) - when < 60 * DAY for k in range(1, 4)
        ):
            key = "renewal"
        elif account.archetype == CHURNER and main.ends is not None and (
            0 <= main.ends - when < 90 * DAY
        ) and self.rng.random() < 0.4:
            key = "escalation"
        else:
            key = "qbr" if self.rng.random() < 0.3 else "checkin"
        return f"{names.MEETING_TITLES[key]} - {account.name}"

    def finish(self) -> None:
        """Assign time-ordered ids to deals and engagements and emit their rows."""
        rng, cutoff = self.rng, self.cutoff
        deal_id = 11_000_000_000
        for deal in sorted(self._deals, key=lambda d: (d["created"], d["company_id"], d["name"])):
            deal_id += int(rng.integers(1, 50))
            closed = deal["stage"] in ("closedwon", "closedlost")
            last_change = deal["closes"] if closed else deal["created"]
            synced = self.synced(min(last_change, cutoff - 1))
            self.deals.add(
                deal_id=deal_id, deal_pipeline_id="default",
                deal_pipeline_stage_id=deal["stage"], owner_id=deal["owner"],
                property_dealname=deal["name"], property_dealtype=deal["dealtype"],
                property_amount=None if deal["amount"] is None else round(deal["amount"], 2),
                property_closedate=deal["closes"], property_createdate=deal["created"],
                is_deleted=False, _fivetran_synced=synced,
            )
            self.deal_companies.add(deal_id=deal_id, company_id=deal["company_id"],
                                    _fivetran_synced=synced)

        engagement_id = 30_000_000_000
        for when, company_id, kind, owner, account in sorted(
            self._engagements, key=lambda e: (e[0], e[1], e[2])
        ):
            engagement_id += int(rng.integers(1, 20))
            if kind == "MEETING":
                logged = max(account.crm_created, when - int(rng.uniform(1, 14) * DAY))
            else:
                logged = min(when + int(rng.integers(0, 2 * HOUR)), cutoff - 1)
            synced = self.synced(max(when, logged))
            self.engagements.add(
                id=engagement_id, type=kind, owner_id=owner, timestamp=when,
                created_at=logged, active=bool(rng.random() >= 0.02),
                _fivetran_synced=synced,
            )
            self.engagement_companies.add(engagement_id=engagement_id, company_id=company_id,
                                          _fivetran_synced=synced)
            if kind == "MEETING":
                if cutoff - when < 3 * DAY and rng.random() < 0.4:
                    outcome = "SCHEDULED"
                else:
                    outcome = str(rng.choice(
                        ["COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"],
                        p=[0.78, 0.08, 0.07, 0.07],
                    ))
                self.meetings.add(
                    engagement_id=engagement_id, property_hs_timestamp=when,
                    property_hs_meeting_title=self._meeting_title(account, when),
                    property_hs_meeting_outcome=outcome, property_hubspot_owner_id=owner,
                    _fivetran_synced=synced,
                )
