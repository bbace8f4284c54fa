-- fct_churn_events holds one logo churn per account churn of the MRR bridge:
-- per month and segment, its logo churns and their MRR equal churned_logos
-- and churned_mrr of fct_mrr_movements_monthly. Returns the months that differ.


-- The test reads several models; Dagster shows it as a check on the one it
-- guards.
{{ config(meta={'dagster': {'ref': {'name': 'fct_churn_events'}}}) }}

with

churn_events as (

    select * from {{ ref('fct_churn_events') }}

),

movements as (

    select * from {{ ref('fct_mrr_movements_monthly') }}

),

logo_churns as (

    select
        churn_month as month_start_date,
        segment,
        count(*) as churned_logos,
        sum(mrr_lost) as churned_mrr
    from churn_events
    where churn_type = 'logo'
    group by churn_month, segment

)

select
    movements.month_start_date,
    movements.segment,
    movements.churned_logos,
    logo_churns.churned_logos as event_churned_logos,
    movements.churned_mrr,
    logo_churns.churned_mrr as event_churned_mrr
from movements
full outer join logo_churns
    on
        movements.month_start_date = logo_churns.month_start_date
        and movements.segment = logo_churns.segment
where
    coalesce(movements.churned_logos, 0) <> coalesce(logo_churns.churned_logos, 0)
    or coalesce(movements.churned_mrr, 0) <> coalesce(logo_churns.churned_mrr, 0)
