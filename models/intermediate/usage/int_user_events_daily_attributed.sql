{#-
    One row per product user, day and event name, with the account the
    events count for: product user → product account (int_product_users, the
    user's latest group call) → account (int_account_identity). Users that
    cannot be attributed stay, with account_id null and the reason in
    attribution_status, so their events remain countable.
-#}

with

user_events as (

    select * from {{ ref('int_product_user_events_daily') }}

),

product_users as (

    select * from {{ ref('int_product_users') }}

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

product_account_identity as (

    select
        source_record_id as product_account_id,
        account_id
    from identity
    where source_system = 'segment'

),

attributed as (

    select
        user_events.user_id,
        user_events.event_date,
        user_events.event_name,
        user_events.event_count,
        product_users.product_account_id,
        product_account_identity.account_id,
        case
            when product_users.user_id is null then 'unknown_user'
            when product_account_identity.account_id is null then 'unmatched_product_account'
            else 'attributed'
        end as attribution_status,
        user_events.dbt_invocation_id
    from user_events
    left join product_users
        on user_events.user_id = product_users.user_id
    left join product_account_identity
        on product_users.product_account_id = product_account_identity.product_account_id

)

select * from attributed
