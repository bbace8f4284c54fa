{#-
    Cohort retention (ChartMogul's form): accounts grouped by their first
    month with MRR, followed month by month to the as-of month. GRR caps each
    account at its starting MRR; NRR does not. The `all` rows add up the
    segments' components and compute their rates from the sums.
-#}

with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

calendar_months as (

    select * from {{ ref('int_calendar_months') }}

),

-- Each account's starting point: its MRR and segment in its cohort month.
cohort_accounts as (

    select
        account_id,
        cohort_month,
        segment,
        mrr as starting_mrr
    from account_months
    where month_start_date = cohort_month

),

-- Every month from the cohort month to the as-of month: after its churn row
-- an account that never returned has no rows, and counts as zero.
cohort_account_months as (

    select
        cohort_accounts.account_id,
        cohort_accounts.cohort_month,
        cohort_accounts.segment,
        cohort_accounts.starting_mrr,
        calendar_months.month_start_date,
        {{ dbt.datediff(
            'cohort_accounts.cohort_month', 'calendar_months.month_start_date', 'month'
        ) }} as months_since_start
    from cohort_accounts
    inner join calendar_months
        on cohort_accounts.cohort_month <= calendar_months.month_start_date

),

account_positions as (

    select
        cohort_account_months.cohort_month,
        cohort_account_months.months_since_start,
        cohort_account_months.segment,
        cohort_account_months.starting_mrr,
        coalesce(account_months.mrr, 0) as mrr,
        case
            when coalesce(account_months.mrr, 0) < cohort_account_months.starting_mrr
                then coalesce(account_months.mrr, 0)
            else cohort_account_months.starting_mrr
        end as capped_mrr,
        coalesce(account_months.mrr > 0 or account_months.is_paused, false) as is_logo
    from cohort_account_months
    left join account_months
        on
            cohort_account_months.account_id = account_months.account_id
            and cohort_account_months.month_start_date = account_months.month_start_date

),

segment_cohorts as (

    select
        cohort_month,
        months_since_start,
        segment,
        count(*) as starting_logos,
        sum(starting_mrr) as starting_mrr,
        sum(case when is_logo then 1 else 0 end) as retained_logos,
        sum(capped_mrr) as gross_retained_mrr,
        sum(mrr) as net_retained_mrr
    from account_positions
    group by cohort_month, months_since_start, segment

),

-- Rates are not additive: the rollup adds up the components, and the rates
-- are computed from the sums below.
all_segment_cohorts as (

    select
        cohort_month,
        months_since_start,
        'all' as segment,
        sum(starting_logos) as starting_logos,
        sum(starting_mrr) as starting_mrr,
        sum(retained_logos) as retained_logos,
        sum(gross_retained_mrr) as gross_retained_mrr,
        sum(net_retained_mrr) as net_retained_mrr
    from segment_cohorts
    group by cohort_month, months_since_start

),

cohorts as (

    select * from segment_cohorts
    union all
    select * from all_segment_cohorts

),

final as (

    select
        cast(cohort_month as date) as cohort_month,
        cast(months_since_start as {{ dbt.type_int() }}) as months_since_start,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(starting_logos as {{ dbt.type_int() }}) as starting_logos,
        cast(starting_mrr as decimal(18, 2)) as starting_mrr,
        cast(retained_logos as {{ dbt.type_int() }}) as retained_logos,
        cast(gross_retained_mrr as decimal(18, 2)) as gross_retained_mrr,
        cast(net_retained_mrr as decimal(18, 2)) as net_retained_mrr,
        cast(
            case when starting_mrr > 0 then cast(gross_retained_mrr as double) / starting_mrr end
            as decimal(18, 6)
        ) as grr,
        cast(
            case when starting_mrr > 0 then cast(net_retained_mrr as double) / starting_mrr end
            as decimal(18, 6)
        ) as nrr,
        cast(
            case when starting_logos > 0 then cast(retained_logos as double) / starting_logos end
            as decimal(18, 6)
        ) as logo_retention
    from cohorts

)

select * from final
