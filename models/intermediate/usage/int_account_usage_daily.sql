{#-
    One row per account per day, from the account's first attributed product
    event to the day before the as-of date: the day's usage and the rolling
    windows built on it (7 and 28 days, week over week), each looking back
    only. Days without events are on the grid with zeros, so a window frame
    of N rows is N days. Incremental by day (macros/incremental.sql): a run
    recomputes the days from rebuild_from on, reading the events its windows
    reach back to; older events reach those days only through account-level
    firsts (first event, first key event, milestones), read in full.
-#}

{{ config(**account_day_config()) }}

{%- set rebuild_from = account_days_rebuild_from(
    ref('int_account_user_events_daily'), 'event_date'
) -%}
{#- The 7-day window and the week before it reach 13 days back; a user's
    span, 28. -#}
{%- set grid_reach_days = 13 -%}
{%- set span_reach_days = 28 -%}

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
    where {{ account_day_filter('cast(date_day as date)', rebuild_from, grid_reach_days) }}

),

-- The first grid day of this run: running counts start from it.
grid_starts as (

    select min(date_day) as grid_start_date
    from calendar_days

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
    where {{ account_day_filter('event_date', rebuild_from, grid_reach_days) }}
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

-- A span opened before the grid's reach has closed before the grid starts.
user_days as (

    select distinct
        account_id,
        user_id,
        event_date
    from user_events
    where {{ account_day_filter(
        'event_date', rebuild_from, grid_reach_days + span_reach_days
    ) }}

),

-- Distinct users over a window cannot be summed from daily counts, and
-- joining every grid day to every user-day of its window grows with days
-- times users. Instead each user-day opens a span of the days whose window
-- contains it, closed early by the user's next active day, so one user's spans
-- never overlap: the active users on a day are the spans open on it, a running
-- sum of +1 at each span's start and -1 at its end. Linear in user-days.
user_day_spans as (

    select
        account_id,
        event_date as span_start,
        lead(event_date) over (
            partition by account_id, user_id order by event_date
        ) as next_active_date
    from user_days

),

feature_days as (

    select distinct
        account_id,
        event_name,
        event_date
    from user_events
    where
        is_key_feature
        and {{ account_day_filter(
            'event_date', rebuild_from, grid_reach_days + span_reach_days
        ) }}

),

-- The same spans per key feature: a feature counts on the days whose 28-day
-- window holds at least one of its events.
feature_day_spans as (

    select
        account_id,
        event_date as span_start,
        lead(event_date) over (
            partition by account_id, event_name order by event_date
        ) as next_used_date
    from feature_days

),

first_key_events as (

    select
        account_id,
        min(event_date) as first_key_event_date
    from user_events
    where is_key_feature
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

-- Every change a day brings to the running counts: spans opening and
-- closing, milestones reached. A span ends on the earlier of the next active
-- day (where the next span takes over) and the day its window no longer
-- holds the event.
span_edges as (

    select
        account_id,
        span_start as date_day,
        1 as users_7d_delta,
        1 as users_28d_delta,
        0 as features_28d_delta,
        0 as steps_delta,
        cast(null as date) as step_reached_date
    from user_day_spans

    union all

    select
        account_id,
        case
            when next_active_date < {{ dbt.dateadd('day', 7, 'span_start') }}
                then next_active_date
            else cast({{ dbt.dateadd('day', 7, 'span_start') }} as date)
        end as date_day,
        -1 as users_7d_delta,
        0 as users_28d_delta,
        0 as features_28d_delta,
        0 as steps_delta,
        cast(null as date) as step_reached_date
    from user_day_spans

    union all

    select
        account_id,
        case
            when next_active_date < {{ dbt.dateadd('day', 28, 'span_start') }}
                then next_active_date
            else cast({{ dbt.dateadd('day', 28, 'span_start') }} as date)
        end as date_day,
        0 as users_7d_delta,
        -1 as users_28d_delta,
        0 as features_28d_delta,
        0 as steps_delta,
        cast(null as date) as step_reached_date
    from user_day_spans

    union all

    select
        account_id,
        span_start as date_day,
        0 as users_7d_delta,
        0 as users_28d_delta,
        1 as features_28d_delta,
        0 as steps_delta,
        cast(null as date) as step_reached_date
    from feature_day_spans

    union all

    select
        account_id,
        case
            when next_used_date < {{ dbt.dateadd('day', 28, 'span_start') }}
                then next_used_date
            else cast({{ dbt.dateadd('day', 28, 'span_start') }} as date)
        end as date_day,
        0 as users_7d_delta,
        0 as users_28d_delta,
        -1 as features_28d_delta,
        0 as steps_delta,
        cast(null as date) as step_reached_date
    from feature_day_spans

    union all

    select
        account_id,
        reached_date as date_day,
        0 as users_7d_delta,
        0 as users_28d_delta,
        0 as features_28d_delta,
        1 as steps_delta,
        reached_date as step_reached_date
    from step_first_dates

),

-- An edge before the grid's first day counts on that day: the running
-- counts then start from everything that happened before it.
clamped_edges as (

    select
        span_edges.account_id,
        case
            when span_edges.date_day < grid_starts.grid_start_date
                then grid_starts.grid_start_date
            else span_edges.date_day
        end as date_day,
        span_edges.users_7d_delta,
        span_edges.users_28d_delta,
        span_edges.features_28d_delta,
        span_edges.steps_delta,
        span_edges.step_reached_date
    from span_edges
    cross join grid_starts

),

daily_edges as (

    select
        account_id,
        date_day,
        sum(users_7d_delta) as users_7d_delta,
        sum(users_28d_delta) as users_28d_delta,
        sum(features_28d_delta) as features_28d_delta,
        sum(steps_delta) as steps_delta,
        max(step_reached_date) as step_reached_date
    from clamped_edges
    group by account_id, date_day

),

-- Edges after the grid's last day are never reached; every edge is on or
-- after the account's first event or the run's first grid day, where the
-- account's grid starts.
running_counts as (

    select
        rolling.account_id,
        rolling.date_day,
        sum(coalesce(daily_edges.users_7d_delta, 0)) over account_to_date
            as active_users_7d,
        sum(coalesce(daily_edges.users_28d_delta, 0)) over account_to_date
            as active_users_28d,
        sum(coalesce(daily_edges.features_28d_delta, 0)) over account_to_date
            as key_features_used_28d,
        sum(coalesce(daily_edges.steps_delta, 0)) over account_to_date
            as onboarding_steps_completed,
        max(daily_edges.step_reached_date) over account_to_date
            as last_step_reached_date
    from rolling
    left join daily_edges
        on
            rolling.account_id = daily_edges.account_id
            and rolling.date_day = daily_edges.date_day
    window account_to_date as (
        partition by rolling.account_id
        order by rolling.date_day
        rows between unbounded preceding and current row
    )

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
        cast(running_counts.active_users_7d as {{ dbt.type_bigint() }}) as active_users_7d,
        cast(running_counts.active_users_28d as {{ dbt.type_bigint() }}) as active_users_28d,
        cast(running_counts.key_features_used_28d as {{ dbt.type_bigint() }})
            as key_features_used_28d,
        cast(running_counts.key_features_used_28d as double)
        / nullif(feature_counts.key_feature_count, 0) as key_feature_adoption,
        case
            when first_key_events.first_key_event_date <= rolling.date_day
                then first_key_events.first_key_event_date
        end as first_key_event_date,
        cast(running_counts.onboarding_steps_completed as {{ dbt.type_bigint() }})
            as onboarding_steps_completed,
        case
            when running_counts.onboarding_steps_completed = step_counts.onboarding_step_count
                then running_counts.last_step_reached_date
        end as onboarding_completed_date,
        '{{ invocation_id }}' as dbt_invocation_id
    from rolling
    cross join feature_counts
    cross join step_counts
    inner join running_counts
        on
            rolling.account_id = running_counts.account_id
            and rolling.date_day = running_counts.date_day
    left join first_key_events
        on rolling.account_id = first_key_events.account_id
    where {{ account_day_filter('rolling.date_day', rebuild_from) }}

)

select * from final
