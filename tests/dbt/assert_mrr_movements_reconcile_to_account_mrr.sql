-- fct_mrr_movements_monthly summed over segments equals fct_account_mrr_monthly
-- summed over accounts, month by month, for every MRR amount and logo movement.
-- Returns the months that differ.


-- The test reads several models; Dagster shows it as a check on the one it
-- guards.
{{ config(meta={'dagster': {'ref': {'name': 'fct_mrr_movements_monthly'}}}) }}

with

movements as (

    select * from {{ ref('fct_mrr_movements_monthly') }}

),

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

movement_totals as (

    select
        month_start_date,
        sum(starting_mrr) as starting_mrr,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(ending_mrr) as ending_mrr,
        sum(new_logos) as new_logos,
        sum(reactivated_logos) as reactivated_logos,
        sum(churned_logos) as churned_logos
    from movements
    group by month_start_date

),

account_totals as (

    select
        month_start_date,
        sum(previous_mrr) as starting_mrr,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(mrr) as ending_mrr,
        sum(case when movement_type = 'new' then 1 else 0 end) as new_logos,
        sum(case when movement_type = 'reactivation' then 1 else 0 end) as reactivated_logos,
        sum(case when movement_type = 'churn' then 1 else 0 end) as churned_logos
    from account_months
    group by month_start_date

)

-- A month missing on one side counts as zeros there.
select
    coalesce(movement_totals.month_start_date, account_totals.month_start_date)
        as month_start_date,
    movement_totals.ending_mrr as movements_ending_mrr,
    account_totals.ending_mrr as accounts_ending_mrr
from movement_totals
full outer join account_totals
    on movement_totals.month_start_date = account_totals.month_start_date
where
    coalesce(movement_totals.starting_mrr, 0) <> coalesce(account_totals.starting_mrr, 0)
    or coalesce(movement_totals.new_mrr, 0) <> coalesce(account_totals.new_mrr, 0)
    or coalesce(movement_totals.expansion_mrr, 0) <> coalesce(account_totals.expansion_mrr, 0)
    or coalesce(movement_totals.reactivation_mrr, 0) <> coalesce(account_totals.reactivation_mrr, 0)
    or coalesce(movement_totals.contraction_mrr, 0) <> coalesce(account_totals.contraction_mrr, 0)
    or coalesce(movement_totals.churned_mrr, 0) <> coalesce(account_totals.churned_mrr, 0)
    or coalesce(movement_totals.ending_mrr, 0) <> coalesce(account_totals.ending_mrr, 0)
    or coalesce(movement_totals.new_logos, 0) <> coalesce(account_totals.new_logos, 0)
    or coalesce(movement_totals.reactivated_logos, 0)
    <> coalesce(account_totals.reactivated_logos, 0)
    or coalesce(movement_totals.churned_logos, 0) <> coalesce(account_totals.churned_logos, 0)
