{#-
    One row per account per ISO week (Monday to Sunday), from the week of the
    account's contract start to the week of the day before the as-of date:
    events, distinct active users and key-feature events of the week, and the
    change against the week before. The first and the current week can be
    partial; days_in_week says how many of their days the data covers.
-#}

with

facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

user_events as (

    select * from {{ ref('int_account_user_events_daily') }}

),

facts_weeks as (

    select
        account_id,
        date_day,
        events_1d,
        key_feature_events_1d,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date
    from facts

),

weekly_totals as (

    select
        account_id,
        week_start_date,
        count(*) as days_in_week,
        sum(events_1d) as events,
        sum(key_feature_events_1d) as key_feature_events
    from facts_weeks
    group by account_id, week_start_date

),

-- Distinct users cannot be summed from days; count them from user-days, on
-- the days the facts cover only.
weekly_users as (

    select
        facts_weeks.account_id,
        facts_weeks.week_start_date,
        count(distinct user_events.user_id) as active_users
    from facts_weeks
    inner join user_events
        on
            facts_weeks.account_id = user_events.account_id
            and facts_weeks.date_day = user_events.event_date
    group by facts_weeks.account_id, facts_weeks.week_start_date

),

combined as (

    select
        weekly_totals.account_id,
        weekly_totals.week_start_date,
        weekly_totals.days_in_week,
        weekly_totals.events,
        coalesce(weekly_users.active_users, 0) as active_users,
        weekly_totals.key_feature_events,
        lag(weekly_totals.events) over (
            partition by weekly_totals.account_id
            order by weekly_totals.week_start_date
        ) as events_prev_week
    from weekly_totals
    left join weekly_users
        on
            weekly_totals.account_id = weekly_users.account_id
            and weekly_totals.week_start_date = weekly_users.week_start_date

),

final as (

    select
        account_id,
        week_start_date,
        cast(days_in_week as {{ dbt.type_int() }}) as days_in_week,
        days_in_week = 7 as is_complete_week,
        cast(events as {{ dbt.type_bigint() }}) as events,
        cast(active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(key_feature_events as {{ dbt.type_bigint() }}) as key_feature_events,
        cast(events_prev_week as {{ dbt.type_bigint() }}) as events_prev_week,
        cast(events as double) / nullif(events_prev_week, 0) - 1 as usage_change_wow
    from combined

)

select * from final
