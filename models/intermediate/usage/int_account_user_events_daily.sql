{#-
    One row per account, product user, day and event name with at least one
    attributed event: the building block for account-day usage, weekly usage
    and distinct-user counts over any window.
-#}

with

user_events as (

    select * from {{ ref('int_user_events_daily_attributed') }}

),

key_features as (

    select * from {{ ref('key_features') }}

),

onboarding_steps as (

    select * from {{ ref('onboarding_steps') }}

),

attributed_events as (

    select
        account_id,
        user_id,
        event_date,
        event_name,
        event_count,
        dbt_invocation_id
    from user_events
    where attribution_status = 'attributed'

),

flagged as (

    select
        attributed_events.account_id,
        attributed_events.user_id,
        attributed_events.event_date,
        attributed_events.event_name,
        attributed_events.event_count,
        key_features.event_name is not null as is_key_feature,
        onboarding_steps.event_name is not null as is_onboarding_step,
        attributed_events.dbt_invocation_id
    from attributed_events
    left join key_features
        on attributed_events.event_name = key_features.event_name
    left join onboarding_steps
        on attributed_events.event_name = onboarding_steps.event_name

)

select * from flagged
