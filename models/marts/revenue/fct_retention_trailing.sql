{#-
    Retention per month and segment, plus an `all` row per month:
    - trailing twelve months (SaaS Capital's form): the accounts that had MRR
      twelve months before, their MRR now over their MRR then (GRR caps each
      account at its MRR then);
    - the month's churn: logo churn rate, gross and net MRR churn.
    Rates are not additive: the `all` rows add up components, then divide.
-#}

with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

movements as (

    select * from {{ ref('fct_mrr_movements_monthly') }}

),

-- Each account month with MRR, keyed by the month twelve months later: the
-- month whose trailing figure it starts.
starting_positions as (

    select
        account_id,
        segment,
        mrr as starting_mrr,
        cast({{ dbt.dateadd('month', 12, 'month_start_date') }} as date) as month_start_date
    from account_months
    where mrr > 0

),

-- The starting accounts of each reported month with their MRR now: 0 when
-- the account has no row that month (it churned and never returned). The
-- segment is the account's, the same in every month.
trailing_pairs as (

    select
        movements.month_start_date,
        movements.segment,
        starting_positions.starting_mrr,
        coalesce(current_months.mrr, 0) as current_mrr
    from movements
    inner join starting_positions
        on
            movements.month_start_date = starting_positions.month_start_date
            and movements.segment = starting_positions.segment
    left join account_months as current_months
        on
            starting_positions.account_id = current_months.account_id
            and starting_positions.month_start_date = current_months.month_start_date

),

segment_trailing as (

    select
        month_start_date,
        segment,
        sum(starting_mrr) as t12m_starting_mrr,
        sum(
            case when current_mrr < starting_mrr then current_mrr else starting_mrr end
        ) as t12m_gross_retained_mrr,
        sum(current_mrr) as t12m_net_retained_mrr
    from trailing_pairs
    group by month_start_date, segment

),

segment_months as (

    select
        movements.month_start_date,
        movements.segment,
        coalesce(segment_trailing.t12m_starting_mrr, 0) as t12m_starting_mrr,
        coalesce(segment_trailing.t12m_gross_retained_mrr, 0) as t12m_gross_retained_mrr,
        coalesce(segment_trailing.t12m_net_retained_mrr, 0) as t12m_net_retained_mrr,
        movements.starting_mrr,
        movements.starting_logos,
        movements.churned_logos,
        movements.churned_mrr,
        movements.contraction_mrr,
        movements.expansion_mrr,
        movements.reactivation_mrr
    from movements
    left join segment_trailing
        on
            movements.month_start_date = segment_trailing.month_start_date
            and movements.segment = segment_trailing.segment

),

-- Rates are not additive: the rollup adds up the components, and the rates
-- are computed from the sums below.
all_segment_months as (

    select
        month_start_date,
        'all' as segment,
        sum(t12m_starting_mrr) as t12m_starting_mrr,
        sum(t12m_gross_retained_mrr) as t12m_gross_retained_mrr,
        sum(t12m_net_retained_mrr) as t12m_net_retained_mrr,
        sum(starting_mrr) as starting_mrr,
        sum(starting_logos) as starting_logos,
        sum(churned_logos) as churned_logos,
        sum(churned_mrr) as churned_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(reactivation_mrr) as reactivation_mrr
    from segment_months
    group by month_start_date

),

report_months as (

    select * from segment_months
    union all
    select * from all_segment_months

),

churn_amounts as (

    select
        *,
        churned_mrr + contraction_mrr as gross_mrr_churn,
        churned_mrr + contraction_mrr - expansion_mrr - reactivation_mrr as net_mrr_churn
    from report_months

),

final as (

    select
        cast(month_start_date as date) as month_start_date,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(t12m_starting_mrr as decimal(18, 2)) as t12m_starting_mrr,
        cast(t12m_gross_retained_mrr as decimal(18, 2)) as t12m_gross_retained_mrr,
        cast(t12m_net_retained_mrr as decimal(18, 2)) as t12m_net_retained_mrr,
        -- Rates divide as doubles: Spark divides decimals at a scale of its own
        -- choosing, so casting its result to six places could round twice.
        cast(
            case
                when t12m_starting_mrr > 0
                    then cast(t12m_gross_retained_mrr as double) / t12m_starting_mrr
            end
            as decimal(18, 6)
        ) as t12m_grr,
        cast(
            case
                when t12m_starting_mrr > 0
                    then cast(t12m_net_retained_mrr as double) / t12m_starting_mrr
            end
            as decimal(18, 6)
        ) as t12m_nrr,
        cast(starting_mrr as decimal(18, 2)) as starting_mrr,
        cast(starting_logos as {{ dbt.type_int() }}) as starting_logos,
        cast(churned_logos as {{ dbt.type_int() }}) as churned_logos,
        cast(
            case when starting_logos > 0 then cast(churned_logos as double) / starting_logos end
            as decimal(18, 6)
        ) as logo_churn_rate,
        cast(gross_mrr_churn as decimal(18, 2)) as gross_mrr_churn,
        cast(net_mrr_churn as decimal(18, 2)) as net_mrr_churn,
        cast(
            case when starting_mrr > 0 then cast(gross_mrr_churn as double) / starting_mrr end
            as decimal(18, 6)
        ) as gross_revenue_churn_rate,
        cast(
            case when starting_mrr > 0 then cast(net_mrr_churn as double) / starting_mrr end
            as decimal(18, 6)
        ) as net_revenue_churn_rate
    from churn_amounts

)

select * from final
