{#-
    One row per account, product user, day and event name with at least one
    attributed event: the building block for account-day usage, weekly usage
    and distinct-user counts over any window.
-#}

with

events as (

    select * from {{ ref('int_usage_events_attributed') }}

),

key_features as (

    select * from {{ ref('key_features') }}

),

onboarding_steps as (

    select * from {{ ref('onboarding_steps') }}

),

daily as (

    select
        account_id,
        user_id,
        event_date,
        event_name,
        count(*) as event_count
    from events
    where attribution_status = 'attributed'
    group by account_id, user_id, event_date, event_name

),

flagged as (

    select
        daily.account_id,
        daily.user_id,
        daily.event_date,
        daily.event_name,
        daily.event_count,
        key_features.event_name is not null as is_key_feature,
        onboarding_steps.event_name is not null as is_onboarding_step
    from daily
    left join key_features
        on daily.event_name = key_features.event_name
    left join onboarding_steps
        on daily.event_name = onboarding_steps.event_name

)

select * from flagged
