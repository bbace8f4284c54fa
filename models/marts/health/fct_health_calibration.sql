{#-
    How well the health score and each of its components ranked the accounts
    that went on to churn or contract. On the first day of every month whose
    next three months are complete, every paying account is scored; the
    outcome is a churn or contraction movement (fct_account_mrr_monthly) in
    that month or the two after it (the following ~90 days).
-#}

with

health_daily as (

    select * from {{ ref('fct_account_health_daily') }}

),

health_components as (

    select * from {{ ref('fct_account_health_components_daily') }}

),

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

-- First days of months whose three-month outcome window has ended.
snapshot_scores as (

    select
        account_id,
        date_day as snapshot_date,
        segment,
        health_score,
        health_band
    from health_daily
    where
        date_day = cast({{ dbt.date_trunc('month', 'date_day') }} as date)
        and cast({{ dbt.dateadd('month', 3, 'date_day') }} as date) <= {{ as_of_date() }}

),

losses as (

    select
        account_id,
        month_start_date
    from account_months
    where movement_type in ('churn', 'contraction')

),

-- A snapshot account churned or contracted when a loss falls in the snapshot's
-- month or the two after it.
snapshot_outcomes as (

    select
        snapshot_scores.account_id,
        snapshot_scores.snapshot_date,
        max(case when losses.account_id is not null then 1 else 0 end) as is_outcome
    from snapshot_scores
    left join losses
        on
            snapshot_scores.account_id = losses.account_id
            and snapshot_scores.snapshot_date <= losses.month_start_date
            and losses.month_start_date
            < cast({{ dbt.dateadd('month', 3, 'snapshot_scores.snapshot_date') }} as date)
    group by snapshot_scores.account_id, snapshot_scores.snapshot_date

),

-- One row per snapshot account and measure: the score with its band, and each
-- component's points (null, score_bucket "no data", when it had none).
measures as (

    select
        account_id,
        snapshot_date,
        segment,
        'health_score' as measure,
        health_score as measure_value,
        health_band as score_bucket
    from snapshot_scores

    union all

    select
        snapshot_scores.account_id,
        snapshot_scores.snapshot_date,
        snapshot_scores.segment,
        health_components.component as measure,
        health_components.points as measure_value,
        coalesce(
            cast(health_components.points as {{ dbt.type_string() }}), 'no data'
        ) as score_bucket
    from snapshot_scores
    inner join health_components
        on
            snapshot_scores.account_id = health_components.account_id
            and snapshot_scores.snapshot_date = health_components.date_day

),

-- Every row twice: in its segment and in "all".
scoped as (

    select
        measures.account_id,
        measures.snapshot_date,
        measures.segment,
        measures.measure,
        measures.measure_value,
        measures.score_bucket,
        snapshot_outcomes.is_outcome
    from measures
    inner join snapshot_outcomes
        on
            measures.account_id = snapshot_outcomes.account_id
            and measures.snapshot_date = snapshot_outcomes.snapshot_date

    union all

    select
        measures.account_id,
        measures.snapshot_date,
        'all' as segment,
        measures.measure,
        measures.measure_value,
        measures.score_bucket,
        snapshot_outcomes.is_outcome
    from measures
    inner join snapshot_outcomes
        on
            measures.account_id = snapshot_outcomes.account_id
            and measures.snapshot_date = snapshot_outcomes.snapshot_date

),

-- Rank from healthiest (1) to riskiest, ties sharing their average rank: the
-- positives' rank sum gives the AUC (Mann-Whitney).
ranked as (

    select
        *,
        rank() over (
            partition by snapshot_date, segment, measure
            order by measure_value desc
        ) as first_rank,
        count(*) over (
            partition by snapshot_date, segment, measure, measure_value
        ) as tied_accounts
    from scoped
    where measure_value is not null

),

average_ranked as (

    select
        *,
        first_rank + (tied_accounts - 1) / 2.0 as average_rank
    from ranked

),

auc_by_measure as (

    select
        snapshot_date,
        segment,
        measure,
        count(*) as scored_account_count,
        sum(is_outcome) as scored_outcomes,
        case
            when sum(is_outcome) > 0 and sum(1 - is_outcome) > 0
                then (
                    sum(case when is_outcome = 1 then average_rank else 0 end)
                    - sum(is_outcome) * (sum(is_outcome) + 1) / 2.0
                ) / (sum(is_outcome) * sum(1 - is_outcome))
        end as auc
    from average_ranked
    group by snapshot_date, segment, measure

),

buckets as (

    select
        snapshot_date,
        segment,
        measure,
        score_bucket,
        count(*) as account_count,
        sum(is_outcome) as outcome_count
    from scoped
    group by snapshot_date, segment, measure, score_bucket

),

totals as (

    select
        snapshot_date,
        segment,
        measure,
        'all' as score_bucket,
        count(*) as account_count,
        sum(is_outcome) as outcome_count
    from scoped
    group by snapshot_date, segment, measure

),

bucket_rows as (

    select * from buckets
    union all
    select * from totals

),

final as (

    select
        bucket_rows.snapshot_date,
        cast(bucket_rows.segment as {{ dbt.type_string() }}) as segment,
        cast(bucket_rows.measure as {{ dbt.type_string() }}) as measure,
        cast(bucket_rows.score_bucket as {{ dbt.type_string() }}) as score_bucket,
        cast(bucket_rows.account_count as {{ dbt.type_int() }}) as account_count,
        cast(bucket_rows.outcome_count as {{ dbt.type_int() }}) as outcome_count,
        cast(
            cast(bucket_rows.outcome_count as double) / bucket_rows.account_count
            as {{ health_double() }}
        ) as outcome_rate,
        cast(
            cast(totals.outcome_count as double) / totals.account_count as {{ health_double() }}
        ) as base_rate,
        cast(
            (cast(bucket_rows.outcome_count as double) / bucket_rows.account_count)
            / nullif(cast(totals.outcome_count as double) / totals.account_count, 0)
            as {{ health_double() }}
        ) as lift,
        cast(
            case
                when bucket_rows.score_bucket = 'all'
                    then coalesce(auc_by_measure.scored_account_count, 0)
            end as {{ dbt.type_int() }}
        ) as scored_account_count,
        cast(
            case when bucket_rows.score_bucket = 'all' then auc_by_measure.auc end
            as {{ health_double() }}
        ) as auc
    from bucket_rows
    inner join totals
        on
            bucket_rows.snapshot_date = totals.snapshot_date
            and bucket_rows.segment = totals.segment
            and bucket_rows.measure = totals.measure
    left join auc_by_measure
        on
            bucket_rows.snapshot_date = auc_by_measure.snapshot_date
            and bucket_rows.segment = auc_by_measure.segment
            and bucket_rows.measure = auc_by_measure.measure

)

select * from final
