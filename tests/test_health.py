"""The health score against what the generator knows about each account."""

from __future__ import annotations

import csv


def _churners(built_warehouse) -> dict[int, str]:
    with (built_warehouse.landing_dir / "_truth" / "accounts.csv").open() as handle:
        return {
            int(row["company_id"]): row["churn_date"]
            for row in csv.DictReader(handle)
            if row["churn_date"]
        }


def test_churners_are_mostly_red_or_yellow_before_they_churn(built_warehouse):
    churners = _churners(built_warehouse)
    rows = built_warehouse.query(
        """
        select account_id, churn_month, last_health_band
        from marts.fct_churn_events
        where churn_type = 'logo' and last_health_band is not null
        """
    )
    scored = [r for r in rows if r[0] in churners]
    assert len(scored) >= 5, "the test warehouse should hold a few scored churns"
    warned = [r for r in scored if r[2] in ("red", "yellow")]
    assert len(warned) / len(scored) >= 0.8


def test_red_accounts_churn_more_than_green_ones(built_warehouse):
    rates = dict(
        built_warehouse.query(
            """
            select score_bucket, sum(outcome_count) * 1.0 / sum(account_count)
            from marts.fct_health_calibration
            where measure = 'health_score' and segment = 'all'
                and score_bucket in ('green', 'red')
            group by score_bucket
            """
        )
    )
    assert rates["red"] > rates["green"]


def test_every_score_is_explained_by_its_components(built_warehouse):
    [(mismatches,)] = built_warehouse.query(
        """
        select count(*)
        from marts.fct_account_health_daily as health
        inner join (
            select account_id, date_day, sum(contribution) as contributions
            from marts.fct_account_health_components_daily
            group by account_id, date_day
        ) as components using (account_id, date_day)
        -- The score is shown to one decimal; the contributions keep four.
        where abs(health.health_score - components.contributions) > 0.0501
            or health.health_reason is null and health.health_band <> 'green'
        """
    )
    assert mismatches == 0
