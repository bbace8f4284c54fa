"""Delighted survey responses: quarterly NPS to a few contacts, CSAT after solved tickets.

NPS depends on the account's story: healthy and expanding accounts mostly
answer 8-10, downgraders and stalled accounts lower, and a churner's scores
slide towards 0-6 in the months before it leaves. Only some responses carry
the CRM company id in ``person_properties``; the rest must be matched through
the respondent's email.
"""

from __future__ import annotations

import json

import numpy as np

from . import names
from .accounts import (
    CHURNER, DOWNGRADER, EXPANDER, HEALTHY, STALLED, TRIAL_EXPIRED, Account,
)
from .billing import PRODUCTS
from .common import DAY, HOUR, MINUTE, working_time
from .support import SolvedTicket
from .writer import TableBuilder

NPS_BASE = {HEALTHY: (8.7, 1.0), EXPANDER: (9.0, 0.8), DOWNGRADER: (6.6, 1.6),
            STALLED: (5.5, 2.0), CHURNER: (7.3, 1.4), TRIAL_EXPIRED: (6.0, 2.0)}
RESPONSE_RATE = 0.55
RECIPIENTS = {"smb": (1, 2), "mid_market": (1, 3), "enterprise": (2, 3)}
SLIDE_DAYS = 150  # how long before churn the scores start to fall


def nps_distribution(account: Account, when: int, cutoff: int) -> tuple[float, float]:
    """(mean, standard deviation) of an NPS answer from this account at ``when``."""
    if account.reactivation is not None and when >= account.reactivation.created:
        return 7.6, 1.3
    mean, spread = NPS_BASE[account.archetype]
    churn = account.churned_at(cutoff)
    if churn is not None and account.archetype in (CHURNER, STALLED) and when < churn:
        days_left = (churn - when) / DAY
        if days_left < SLIDE_DAYS:
            mean -= (SLIDE_DAYS - days_left) / SLIDE_DAYS * (mean - 2.5)
            spread = 1.3
    return mean, spread


class SurveyRenderer:
    def __init__(
        self, rng: np.random.Generator, cutoff: int, window_start: int,
        missing_company_id_rate: float,
    ) -> None:
        self.rng, self.cutoff, self.window_start = rng, cutoff, window_start
        self.missing_company_id_rate = missing_company_id_rate
        self.responses = TableBuilder("delighted", "survey_response")
        self._rows: list[dict] = []

    def render_account(self, account: Account) -> None:
        rng, cutoff = self.rng, self.cutoff
        spans = account.usage_spans(cutoff)
        if not spans or account.archetype == TRIAL_EXPIRED:
            return
        low, high = RECIPIENTS[account.segment]
        when = account.main.created + int(rng.uniform(45, 75) * DAY)
        while when < cutoff:
            if any(start <= when < end for start, end in spans):
                count = min(len(account.contacts), int(rng.integers(low, high + 1)))
                for j in rng.choice(len(account.contacts), size=count, replace=False):
                    if rng.random() < RESPONSE_RATE:
                        self._nps(account, account.contacts[int(j)], when)
            when += int(rng.uniform(80, 100) * DAY)

    def _nps(self, account: Account, contact, sent: int) -> None:
        rng = self.rng
        answered = sent // DAY * DAY + int(rng.uniform(0, 5)) * DAY
        answered += int(working_time(rng, 1)[0])
        if answered >= self.cutoff:
            return
        mean, spread = nps_distribution(account, answered, self.cutoff)
        score = int(np.clip(round(rng.normal(mean, spread)), 0, 10))
        band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comment = None
        if rng.random() < 0.35:
            pool = names.NPS_COMMENTS[band]
            comment = pool[int(rng.integers(len(pool)))]
        self._add(account, contact, "nps", score, comment, answered)

    def render_csat(self, solved: list[SolvedTicket]) -> None:
        """A CSAT survey after about a quarter of solved tickets."""
        rng = self.rng
        for ticket in solved:
            if rng.random() >= 0.25:
                continue
            answered = ticket.solved_at + int(rng.uniform(2, 72) * HOUR)
            if answered >= self.cutoff:
                continue
            mean = 2.8 if ticket.at_risk else 4.4 if ticket.account.archetype in (
                HEALTHY, EXPANDER) else 3.9
            score = int(np.clip(round(rng.normal(mean, 0.8)), 1, 5))
            comment = None
            if rng.random() < 0.2:
                comment = names.CSAT_COMMENTS[int(rng.integers(len(names.CSAT_COMMENTS)))]
            self._add(ticket.account, ticket.requester, "csat", score, comment, answered)

    def _add(self, account: Account, contact, kind: str, score: int, comment: str | None,
             answered: int) -> None:
        properties = {"plan": PRODUCTS[account.main.product][1]}
        if self.rng.random() >= self.missing_company_id_rate:
            properties = {"company_id": str(account.company_id), **properties}
        updated = answered + (int(self.rng.integers(MINUTE, 30 * MINUTE)) if comment else 0)
        self._rows.append({
            "person_id": contact.delighted_person_id, "email": contact.email,
            "survey_type": kind, "score": score, "comment": comment, "created_at": answered,
            "updated_at": min(updated, self.cutoff - 1),
            "person_properties": json.dumps(properties),
        })

    def finish(self) -> None:
        """Response ids in answer order, as the survey tool hands them out."""
        response_id = 70_000_000
        for row in sorted(self._rows, key=lambda r: (r["created_at"], r["person_id"])):
            response_id += int(self.rng.integers(1, 40))
            lag = int(self.rng.integers(5 * MINUTE, 6 * HOUR))
            self.responses.add(
                id=str(response_id), **row,
                _fivetran_synced=min(row["updated_at"] + lag, self.cutoff - 1),
            )
