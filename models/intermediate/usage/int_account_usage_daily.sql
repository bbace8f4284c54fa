{#-
    One row per account per day, from the account's first attributed product
    event to the day before the as-of date: the day's usage and the rolling
    windows built on it (7 and 28 days, week over week), each looking back
    only. Days without events are on the grid with zeros, so a window frame
    of N rows is N days.
-#}

with

user_events as (

    select * from {{ ref('int_account_user_events_daily') }}

),

key_features as (

    select * from {{ ref('key_features') }}

),

onboarding_steps as (

    select * from {{ ref('onboarding_steps') }}

),

spine as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('calendar_start_date') ~ "' as date)",
        as_of_date()
    ) }}

),

calendar_days as (

    select cast(date_day as date) as date_day
    from spine

),

feature_counts as (

    select count(*) as key_feature_count
    from key_features

),

step_counts as (

    select count(*) as onboarding_step_count
    from onboarding_steps

),

account_starts as (

    select
        account_id,
        min(event_date) as first_event_date
    from user_events
    group by account_id

),

-- A complete grid (no missing days), so the window frames below count days.
account_days as (

    select
        account_starts.account_id,
        calendar_days.date_day
    from account_starts
    inner join calendar_days
        on account_starts.first_event_date <= calendar_days.date_day

),

daily_totals as (

    select
        account_id,
        event_date,
        cast(sum(event_count) as {{ dbt.type_bigint() }}) as events_1d,
        count(distinct user_id) as active_users_1d,
        cast(
            sum(case when is_key_feature then event_count else 0 end) as {{ dbt.type_bigint() }}
        ) as key_feature_events_1d
    from user_events
    group by account_id, event_date

),

daily as (

    select
        account_days.account_id,
        account_days.date_day,
        coalesce(daily_totals.events_1d, 0) as events_1d,
        coalesce(daily_totals.active_users_1d, 0) as active_users_1d,
        coalesce(daily_totals.key_feature_events_1d, 0) as key_feature_events_1d
    from account_days
    left join daily_totals
        on
            account_days.account_id = daily_totals.account_id
            and account_days.date_day = daily_totals.event_date

),

rolling as (

    select
        *,
        cast(
            sum(events_1d) over (
                partition by account_id
                order by date_day
                rows between 6 preceding and current row
            ) as {{ dbt.type_bigint() }}
        ) as events_7d,
        -- The first 7 days of the grid have no earlier week: 0, not null.
        cast(
            coalesce(
                sum(events_1d) over (
                    partition by account_id
                    order by date_day
                    rows between 13 preceding and 7 preceding
                ),
                0
            ) as {{ dbt.type_bigint() }}
        ) as events_prev_7d
    from daily

),

user_days as (

    select distinct
        account_id,
        user_id,
        event_date
    from user_events

),

-- Distinct users cannot be summed over days: each user-day is joined to the
-- 28 grid days whose window contains it, then counted once per window.
user_windows as (

    select
        account_days.account_id,
        account_days.date_day,
        count(
            distinct case
                when
                    user_days.event_date
                    > cast({{ dbt.dateadd('day', -7, 'account_days.date_day') }} as date)
                    then user_days.user_id
            end
        ) as active_users_7d,
        count(distinct user_days.user_id) as active_users_28d
    from account_days
    inner join user_days
        on
            account_days.account_id = user_days.account_id
            and account_days.date_day >= user_days.event_date
            and user_days.event_date
            > cast({{ dbt.dateadd('day', -28, 'account_days.date_day') }} as date)
    group by account_days.account_id, account_days.date_day

),

feature_days as (

    select distinct
        account_id,
        event_name,
        event_date
    from user_events
    where is_key_feature

),

feature_windows as (

    select
        account_days.account_id,
        account_days.date_day,
        count(distinct feature_days.event_name) as key_features_used_28d
    from account_days
    inner join feature_days
        on
            account_days.account_id = feature_days.account_id
            and account_days.date_day >= feature_days.event_date
            and feature_days.event_date
            > cast({{ dbt.dateadd('day', -28, 'account_days.date_day') }} as date)
    group by account_days.account_id, account_days.date_day

),

first_key_events as (

    select
        account_id,
        min(event_date) as first_key_event_date
    from feature_days
    group by account_id

),

-- A milestone is reached on the day of its first event by anyone at the account.
step_first_dates as (

    select
        account_id,
        event_name,
        min(event_date) as reached_date
    from user_events
    where is_onboarding_step
    group by account_id, event_name

),

onboarding_progress as (

    select
        account_days.account_id,
        account_days.date_day,
        count(*) as onboarding_steps_completed,
        max(step_first_dates.reached_date) as last_step_reached_date
    from account_days
    inner join step_first_dates
        on
            account_days.account_id = step_first_dates.account_id
            and account_days.date_day >= step_first_dates.reached_date
    group by account_days.account_id, account_days.date_day

),

final as (

    select
        rolling.account_id,
        rolling.date_day,
        rolling.events_1d,
        rolling.active_users_1d,
        rolling.key_feature_events_1d,
        rolling.events_7d,
        rolling.events_prev_7d,
        cast(rolling.events_7d as double) / nullif(rolling.events_prev_7d, 0) - 1
            as usage_change_wow,
        coalesce(user_windows.active_users_7d, 0) as active_users_7d,
        coalesce(user_windows.active_users_28d, 0) as active_users_28d,
        coalesce(feature_windows.key_features_used_28d, 0) as key_features_used_28d,
        cast(coalesce(feature_windows.key_features_used_28d, 0) as double)
        / nullif(feature_counts.key_feature_count, 0) as key_feature_adoption,
        case
            when first_key_events.first_key_event_date <= rolling.date_day
                then first_key_events.first_key_event_date
        end as first_key_event_date,
        coalesce(onboarding_progress.onboarding_steps_completed, 0)
            as onboarding_steps_completed,
        case
            when onboarding_progress.onboarding_steps_completed = step_counts.onboarding_step_count
                then onboarding_progress.last_step_reached_date
        end as onboarding_completed_date
    from rolling
    cross join feature_counts
    cross join step_counts
    left join user_windows
        on
            rolling.account_id = user_windows.account_id
            and rolling.date_day = user_windows.date_day
    left join feature_windows
        on
            rolling.account_id = feature_windows.account_id
            and rolling.date_day = feature_windows.date_day
    left join first_key_events
        on rolling.account_id = first_key_events.account_id
    left join onboarding_progress
        on
            rolling.account_id = onboarding_progress.account_id
            and rolling.date_day = onboarding_progress.date_day

)

select * from final
