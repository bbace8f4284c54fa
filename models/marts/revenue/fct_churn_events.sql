{#-
    One row per churn event, two kinds:
    - logo: the account's MRR reached zero (movement churn in
      fct_account_mrr_monthly); the MRR lost is all of it;
    - partial: one subscription stopped having MRR while the account still
      had MRR the month after; the MRR lost is that subscription's.
    The health context is the account's last daily health score before
    churn_month; other context (support, usage) joins the same way.
-#}

with

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

health as (

    select * from {{ ref('fct_account_health_daily') }}

),

subscription_months as (

    select * from {{ ref('int_subscription_mrr_monthly') }}

),

logo_churns as (

    select
        'logo' as churn_type,
        account_id,
        cast(null as {{ dbt.type_string() }}) as subscription_id,
        month_start_date as churn_month,
        previous_mrr as mrr_lost,
        plan_name,
        segment,
        months_since_cohort as tenure_months
    from account_months
    where movement_type = 'churn'

),

-- Each subscription month with the month after it, where a stop shows.
subscription_months_with_next as (

    select
        *,
        cast({{ dbt.dateadd('month', 1, 'month_start_date') }} as date) as next_month_start_date
    from subscription_months

),

-- A subscription's month with MRR that the next month has no MRR for: the
-- subscription stopped counting (ended, cancelled, unpaid) in the next month.
subscription_endings as (

    select
        this_months.subscription_id,
        this_months.account_id,
        this_months.product_name,
        this_months.mrr,
        this_months.next_month_start_date as churn_month
    from subscription_months_with_next as this_months
    left join subscription_months as next_months
        on
            this_months.subscription_id = next_months.subscription_id
            and this_months.next_month_start_date = next_months.month_start_date
    where next_months.subscription_id is null

),

-- Only endings the account survived: when the account's MRR reached zero the
-- event is a logo churn, and a month past the as-of month has no row.
partial_churns as (

    select
        'partial' as churn_type,
        subscription_endings.account_id,
        subscription_endings.subscription_id,
        subscription_endings.churn_month,
        subscription_endings.mrr as mrr_lost,
        subscription_endings.product_name as plan_name,
        account_months.segment,
        account_months.months_since_cohort as tenure_months
    from subscription_endings
    inner join account_months
        on
            subscription_endings.account_id = account_months.account_id
            and subscription_endings.churn_month = account_months.month_start_date
    where account_months.mrr > 0

),

churn_events as (

    select * from logo_churns
    union all
    select * from partial_churns

),

-- The last score before the churn month: for a logo churn that is the last
-- paying day, the score a CSM saw before the account left.
last_health as (

    select
        churn_events.churn_type,
        churn_events.account_id,
        churn_events.subscription_id,
        churn_events.churn_month,
        health.date_day,
        health.health_score,
        health.health_band,
        row_number() over (
            partition by
                churn_events.churn_type,
                churn_events.account_id,
                churn_events.subscription_id,
                churn_events.churn_month
            order by health.date_day desc
        ) as recency_rank
    from churn_events
    inner join health
        on
            churn_events.account_id = health.account_id
            and churn_events.churn_month > health.date_day

),

-- The band a CSM saw 60 days before the churn month: whether the score gave
-- the team two months' warning (the calibration figure in the README).
health_60d_before as (

    select
        churn_type,
        account_id,
        subscription_id,
        churn_month,
        health_band,
        row_number() over (
            partition by churn_type, account_id, subscription_id, churn_month
            order by date_day desc
        ) as recency_rank
    from last_health
    where date_day <= {{ dbt.dateadd('day', -60, 'churn_month') }}

),

enriched as (

    select
        churn_events.*,
        last_health.health_score as last_health_score,
        last_health.health_band as last_health_band,
        health_60d_before.health_band as health_band_60d_before
    from churn_events
    left join last_health
        on
            churn_events.churn_type = last_health.churn_type
            and churn_events.account_id = last_health.account_id
            and coalesce(churn_events.subscription_id, '')
            = coalesce(last_health.subscription_id, '')
            and churn_events.churn_month = last_health.churn_month
            and last_health.recency_rank = 1
    left join health_60d_before
        on
            churn_events.churn_type = health_60d_before.churn_type
            and churn_events.account_id = health_60d_before.account_id
            and coalesce(churn_events.subscription_id, '')
            = coalesce(health_60d_before.subscription_id, '')
            and churn_events.churn_month = health_60d_before.churn_month
            and health_60d_before.recency_rank = 1

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'churn_type',
            "'|'",
            'cast(account_id as ' ~ dbt.type_string() ~ ')',
            "'|'",
            "coalesce(subscription_id, '')",
            "'|'",
            'cast(churn_month as ' ~ dbt.type_string() ~ ')',
        ])) }} as churn_event_id,
        cast(account_id as {{ dbt.type_bigint() }}) as account_id,
        cast(churn_type as {{ dbt.type_string() }}) as churn_type,
        subscription_id,
        churn_month,
        cast(mrr_lost as decimal(18, 2)) as mrr_lost,
        plan_name,
        segment,
        cast(tenure_months as {{ dbt.type_int() }}) as tenure_months,
        last_health_score,
        last_health_band,
        health_band_60d_before
    from enriched

)

select * from final
