"""Zendesk Support, as Fivetran lands it: organizations, tickets, satisfaction ratings.

Ticket volume scales with the account's size; in the ~90 days before a churn
there are more tickets, a larger share of them urgent or high priority, they
take longer to solve and their ratings are more often bad. Statuses reflect
the cutoff: old tickets are closed, recently solved ones solved, recent
unsolved ones new/open/pending/hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from . import names
from .accounts import CHURNER, DOWNGRADER, STALLED, TRIAL_EXPIRED, Account, Contact
from .common import DAY, HOUR, MINUTE, unique_integers, working_time
from .writer import TableBuilder

TICKETS_PER_30_DAYS = {"smb": 1.0, "mid_market": 2.0, "enterprise": 3.5}
PRIORITIES = ["urgent", "high", "normal", "low", None]
PRIORITY_MIX = [0.04, 0.14, 0.55, 0.22, 0.05]
PRIORITY_MIX_AT_RISK = [0.20, 0.30, 0.35, 0.12, 0.03]
TYPES = ["question", "problem", "incident", "task", None]
TYPE_MIX = [0.40, 0.30, 0.15, 0.10, 0.05]
CHANNELS = ["email", "web", "chat", "api"]
CHANNEL_MIX = [0.50, 0.30, 0.15, 0.05]
# Median hours to solve by priority.
SOLVE_HOURS = {"urgent": 6, "high": 20, "normal": 40, "low": 70, None: 48}
CLOSE_AFTER = 4 * DAY  # Zendesk closes solved tickets after four days by default


@dataclass
class SolvedTicket:
    """A solved ticket, for the CSAT survey that may follow it."""

    account: Account
    requester: Contact
    solved_at: int
    at_risk: bool


def at_risk(account: Account, when: int, cutoff: int) -> bool:
    """True in the ~90 days before a churner's subscription ends."""
    churn = account.churned_at(cutoff)
    return (
        account.archetype in (CHURNER, STALLED)
        and churn is not None
        and 0 <= churn - when < 90 * DAY
    )


class SupportRenderer:
    def __init__(self, rng: np.random.Generator, cutoff: int, window_start: int) -> None:
        self.rng, self.cutoff, self.window_start = rng, cutoff, window_start
        self.organizations = TableBuilder("zendesk", "organization")
        self.tickets = TableBuilder("zendesk", "ticket")
        self.ratings = TableBuilder("zendesk", "satisfaction_rating")
        self.agents = [int(a) for a in unique_integers(rng, 370_000_000, 379_999_999, 12)]
        self.solved: list[SolvedTicket] = []
        self._tickets: list[dict] = []

    def synced(self, last_change: int) -> int:
        lag = int(self.rng.integers(5 * MINUTE, 6 * HOUR))
        return int(min(max(last_change, self.window_start) + lag, self.cutoff - 1))

    def render_account(self, account: Account) -> None:
        if account.main is None:
            return
        rng, cutoff = self.rng, self.cutoff
        created = min(account.main.created + int(rng.uniform(0, 3) * DAY), cutoff - HOUR)
        updated = min(created + int(rng.uniform(0, 200) * DAY), cutoff - HOUR)
        self.organizations.add(
            id=account.zendesk_org_id, name=account.name,
            external_id=str(account.company_id) if account.zendesk_has_external_id else None,
            domain_names=json.dumps([account.domain]), created_at=created, updated_at=updated,
            _fivetran_synced=self.synced(updated),
        )
        spans = account.usage_spans(cutoff)
        if not spans:
            return
        days = np.arange(spans[0][0] // DAY, (spans[-1][1] - 1) // DAY + 1)
        rate = np.zeros(days.shape[0])
        for start, end in spans:
            rate[(days >= start // DAY) & (days <= (end - 1) // DAY)] = 1.0
        rate *= TICKETS_PER_30_DAYS[account.segment] / 30
        weekday = (days + 3) % 7
        rate *= np.where(weekday >= 5, 0.3, 1.28)
        first = spans[0][0] // DAY
        if account.archetype == STALLED:
            rate[days < first + 60] *= 1.5  # "how do I set this up?"
        if account.archetype == TRIAL_EXPIRED:
            rate *= 0.5
        churn = account.churned_at(cutoff)
        if account.archetype in (CHURNER, STALLED) and churn is not None:
            until_churn = churn - days * DAY
            rate[(until_churn >= 0) & (until_churn < 90 * DAY)] *= 2.5
        counts = rng.poisson(rate)
        day_of = np.repeat(days, counts)
        opened = day_of * DAY + working_time(rng, day_of.shape[0])
        for when in opened.tolist():
            if when < cutoff:
                self._ticket(account, when)

    def _ticket(self, account: Account, created: int) -> None:
        rng, cutoff = self.rng, self.cutoff
        risky = at_risk(account, created, cutoff)
        priority = PRIORITIES[rng.choice(5, p=PRIORITY_MIX_AT_RISK if risky else PRIORITY_MIX)]
        kind = TYPES[rng.choice(5, p=TYPE_MIX)]
        if priority == "urgent" and rng.random() < 0.5:
            kind = "incident"
        subjects = names.TICKET_SUBJECTS[kind or "question"]
        hours = SOLVE_HOURS[priority] * rng.lognormal(0.0, 0.8) * (1.8 if risky else 1.0)
        solved = created + int(hours * HOUR)
        requester = account.contacts[int(rng.integers(len(account.contacts)))]
        assignee = self.agents[int(rng.integers(len(self.agents)))]
        if solved < cutoff:
            if cutoff - solved > CLOSE_AFTER:
                status, updated = "closed", solved + CLOSE_AFTER
            else:
                status, updated = "solved", solved
            self.solved.append(SolvedTicket(account, requester, solved, risky))
        else:
            age = cutoff - created
            if age < DAY and rng.random() < 0.5:
                status, assignee = "new", None
            else:
                status = str(rng.choice(["open", "pending", "hold"], p=[0.55, 0.35, 0.10]))
            updated = created + int(rng.uniform(0, 1) * age)
        self._tickets.append({
            "created": created, "organization_id": account.zendesk_org_id,
            "requester_id": requester.zendesk_user_id, "assignee_id": assignee,
            "status": status, "priority": priority, "type": kind,
            "subject": subjects[int(rng.integers(len(subjects)))],
            "via_channel": CHANNELS[rng.choice(4, p=CHANNEL_MIX)], "updated": updated,
            "solved": solved if solved < cutoff else None, "account": account,
            "risky": risky,
        })

    def finish(self) -> None:
        """Ticket ids grow with time, as in Zendesk; ratings follow solved tickets."""
        rng, cutoff = self.rng, self.cutoff
        rating_id = 39_000_000_000
        ordered = sorted(self._tickets, key=lambda t: (t["created"], t["organization_id"]))
        for ticket_id, ticket in enumerate(ordered, start=10_001):
            self.tickets.add(
                id=ticket_id, organization_id=ticket["organization_id"],
                requester_id=ticket["requester_id"], assignee_id=ticket["assignee_id"],
                status=ticket["status"], priority=ticket["priority"], type=ticket["type"],
                subject=ticket["subject"], via_channel=ticket["via_channel"],
                created_at=ticket["created"], updated_at=ticket["updated"],
                _fivetran_synced=self.synced(ticket["updated"]),
            )
            solved = ticket["solved"]
            if solved is None or rng.random() >= 0.4:
                continue
            rating_id += int(rng.integers(1, 30))
            rated = solved + int(rng.uniform(1, 48) * HOUR)
            if rated >= cutoff or rng.random() < 0.2:
                score, comment, reason, rated = "offered", None, None, solved + HOUR
            else:
                bad = rng.random() < self._bad_share(ticket["account"], ticket["risky"])
                score = "bad" if bad else "good"
                comment = None
                if rng.random() < 0.4:
                    pool = names.BAD_RATING_COMMENTS if bad else names.GOOD_RATING_COMMENTS
                    comment = pool[int(rng.integers(len(pool)))]
                reason = None
                if bad:
                    pool = names.BAD_RATING_REASONS
                    reason = pool[int(rng.integers(len(pool)))]
            rated = min(rated, cutoff - 1)
            self.ratings.add(
                id=rating_id, ticket_id=ticket_id, requester_id=ticket["requester_id"],
                score=score, comment=comment, reason=reason, created_at=rated,
                updated_at=rated, _fivetran_synced=self.synced(rated),
            )

    @staticmethod
    def _bad_share(account: Account, risky: bool) -> float:
        if risky:
            return 0.45
        return {CHURNER: 0.15, STALLED: 0.25, DOWNGRADER: 0.18}.get(account.archetype, 0.08)
