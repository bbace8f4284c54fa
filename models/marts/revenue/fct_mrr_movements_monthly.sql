{#-
    The MRR bridge per month and segment: starting MRR, the five movements,
    ending MRR, and the same bridge in logos. Segments only; a company total
    is the sum of the segments' rows.
-#}

with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

calendar_months as (

    select * from {{ ref('int_calendar_months') }}

),

-- A paused account stays a logo (see doc revenue__logo): whether it started
-- the month as one depends on its previous month's pause flag.
account_logos as (

    select
        account_id,
        month_start_date,
        segment,
        previous_mrr,
        new_mrr,
        expansion_mrr,
        reactivation_mrr,
        contraction_mrr,
        churned_mrr,
        mrr,
        movement_type,
        previous_mrr > 0
        or coalesce(
            lag(is_paused) over (partition by account_id order by month_start_date),
            false
        ) as is_starting_logo,
        mrr > 0 or is_paused as is_ending_logo
    from account_months

),

segment_months as (

    select
        month_start_date,
        segment,
        sum(previous_mrr) as starting_mrr,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(mrr) as ending_mrr,
        sum(case when is_starting_logo then 1 else 0 end) as starting_logos,
        sum(case when movement_type = 'new' then 1 else 0 end) as new_logos,
        sum(case when movement_type = 'reactivation' then 1 else 0 end) as reactivated_logos,
        sum(case when movement_type = 'churn' then 1 else 0 end) as churned_logos,
        sum(case when is_ending_logo then 1 else 0 end) as ending_logos
    from account_logos
    group by month_start_date, segment

),

segments as (

    select distinct segment
    from account_months

),

first_month as (

    select min(month_start_date) as first_month_start_date
    from account_months

),

-- Every month from the first with MRR to the as-of month for every segment,
-- so a segment without accounts in a month still has a row and its rows
-- chain month to month.
month_segments as (

    select
        calendar_months.month_start_date,
        segments.segment
    from calendar_months
    cross join segments
    inner join first_month
        on calendar_months.month_start_date >= first_month.first_month_start_date

),

filled as (

    select
        month_segments.month_start_date,
        month_segments.segment,
        coalesce(segment_months.starting_mrr, 0) as starting_mrr,
        coalesce(segment_months.new_mrr, 0) as new_mrr,
        coalesce(segment_months.expansion_mrr, 0) as expansion_mrr,
        coalesce(segment_months.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(segment_months.contraction_mrr, 0) as contraction_mrr,
        coalesce(segment_months.churned_mrr, 0) as churned_mrr,
        coalesce(segment_months.ending_mrr, 0) as ending_mrr,
        coalesce(segment_months.starting_logos, 0) as starting_logos,
        coalesce(segment_months.new_logos, 0) as new_logos,
        coalesce(segment_months.reactivated_logos, 0) as reactivated_logos,
        coalesce(segment_months.churned_logos, 0) as churned_logos,
        coalesce(segment_months.ending_logos, 0) as ending_logos
    from month_segments
    left join segment_months
        on
            month_segments.month_start_date = segment_months.month_start_date
            and month_segments.segment = segment_months.segment

),

final as (

    select
        month_start_date,
        segment,
        cast(starting_mrr as decimal(18, 2)) as starting_mrr,
        cast(new_mrr as decimal(18, 2)) as new_mrr,
        cast(expansion_mrr as decimal(18, 2)) as expansion_mrr,
        cast(reactivation_mrr as decimal(18, 2)) as reactivation_mrr,
        cast(contraction_mrr as decimal(18, 2)) as contraction_mrr,
        cast(churned_mrr as decimal(18, 2)) as churned_mrr,
        cast(ending_mrr as decimal(18, 2)) as ending_mrr,
        cast(
            new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr
            as decimal(18, 2)
        ) as net_new_mrr,
        cast(starting_logos as {{ dbt.type_int() }}) as starting_logos,
        cast(new_logos as {{ dbt.type_int() }}) as new_logos,
        cast(reactivated_logos as {{ dbt.type_int() }}) as reactivated_logos,
        cast(churned_logos as {{ dbt.type_int() }}) as churned_logos,
        cast(ending_logos as {{ dbt.type_int() }}) as ending_logos
    from filled

)

select * from final
