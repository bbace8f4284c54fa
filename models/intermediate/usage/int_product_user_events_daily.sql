{#-
    One row per product user, day and event name with at least one event,
    attributed or not. Incremental by day: a run rebuilds only the days that
    deliveries received since the last run (less a lookback) touch, each day
    whole, so late events and retried deliveries land exactly. Account
    attribution happens downstream, on this small grain, because a user's
    latest group call can move their whole history to another account.
-#}

{{ config(**day_rebuild_config('event_date')) }}

{%- set rebuild_days = event_days_to_rebuild(
    source('segment', 'tracks'), 'timestamp', 'received_at', 'last_received_at'
) -%}

with

tracks as (

    select * from {{ ref('stg_segment__tracks') }}

),

-- Every day on a full build; otherwise the days new deliveries touched.
rebuilt_days as (

    select *
    from tracks
    where {{ event_day_filter('event_date', rebuild_days) }}

),

daily as (

    select
        user_id,
        event_date,
        event_name,
        count(*) as event_count,
        max(received_at) as last_received_at
    from rebuilt_days
    group by user_id, event_date, event_name

),

audited as (

    select
        *,
        '{{ invocation_id }}' as dbt_invocation_id
    from daily

)

select * from audited
