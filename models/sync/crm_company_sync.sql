with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

health as (

    select * from {{ ref('fct_account_health_daily') }}

),

account_mrr as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

tasks as (

    select * from {{ ref('fct_playbook_tasks') }}

),

-- Customers: accounts with a billing customer. Every account is a CRM company
-- (the account id is the company id), so each one has a record to update.
customers as (

    select account_id
    from accounts
    where has_billing

),

ranked_facts as (

    select
        *,
        row_number() over (
            partition by account_id
            order by date_day desc
        ) as day_rank
    from daily_facts

),

-- Each account's facts on the last day the warehouse describes (the day
-- before the as-of date): billing state and the next renewal.
latest_facts as (

    select
        account_id,
        date_day,
        is_paying,
        is_trialing,
        first_paid_date,
        renewal_date
    from ranked_facts
    where day_rank = 1

),

-- The score of that same day only: an account that is not paying any more
-- has no current score, so the CRM is cleared rather than left stale.
latest_health as (

    select
        health.account_id,
        health.health_score,
        health.health_band,
        health.trend_7d,
        health.health_reason,
        health.config_version
    from health
    inner join latest_facts
        on
            health.account_id = latest_facts.account_id
            and health.date_day = latest_facts.date_day

),

-- The as-of month: its MRR is read at the as-of instant.
current_month as (

    select max(month_start_date) as month_start_date
    from account_mrr

),

current_mrr as (

    select
        account_mrr.account_id,
        account_mrr.mrr
    from account_mrr
    inner join current_month
        on account_mrr.month_start_date = current_month.month_start_date

),

open_signals as (

    select distinct
        account_id,
        signal_type
    from tasks
    where status = 'open'

),

open_signal_lists as (

    select
        account_id,
        {{ ordered_listagg('signal_type', "', '", 'signal_type') }} as open_signal_types
    from open_signals
    group by account_id

),

open_task_counts as (

    select
        account_id,
        count(*) as open_task_count
    from tasks
    where status = 'open'
    group by account_id

),

final as (

    select
        cast(customers.account_id as {{ dbt.type_bigint() }}) as account_id,
        cast(latest_health.health_score as double) as health_score,
        cast(latest_health.health_band as {{ dbt.type_string() }}) as health_band,
        cast(latest_health.trend_7d as double) as health_trend_7d,
        cast(latest_health.health_reason as {{ dbt.type_string() }}) as health_reason,
        cast(latest_health.config_version as {{ dbt.type_string() }})
            as health_config_version,
        cast(coalesce(current_mrr.mrr, 0) as decimal(18, 2)) as mrr,
        cast(latest_facts.renewal_date as date) as renewal_date,
        cast(
            case
                when latest_facts.account_id is null then 'no_subscription'
                when latest_facts.is_paying then 'customer'
                when latest_facts.is_trialing then 'trialing'
                when latest_facts.first_paid_date is not null then 'churned'
                else 'trial_ended'
            end as {{ dbt.type_string() }}
        ) as lifecycle_stage,
        cast(open_signal_lists.open_signal_types as {{ dbt.type_string() }})
            as open_signal_types,
        cast(coalesce(open_task_counts.open_task_count, 0) as {{ dbt.type_int() }})
            as open_task_count,
        cast({{ as_of_date() }} as {{ dbt.type_timestamp() }}) as computed_at
    from customers
    left join latest_facts
        on customers.account_id = latest_facts.account_id
    left join latest_health
        on customers.account_id = latest_health.account_id
    left join current_mrr
        on customers.account_id = current_mrr.account_id
    left join open_signal_lists
        on customers.account_id = open_signal_lists.account_id
    left join open_task_counts
        on customers.account_id = open_task_counts.account_id

)

select * from final
