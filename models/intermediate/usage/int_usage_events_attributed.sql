{#-
    One row per tracked product event, with the account it counts for. An
    event belongs to its user's product account (the user's latest group
    call) and through it to the CRM account identity resolution gives that
    product account. Events that cannot be attributed stay, with account_id
    null and the reason in attribution_status, so they remain countable.
-#}

with

tracks as (

    select * from {{ ref('stg_segment__tracks') }}

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
        tracks.event_id,
        tracks.user_id,
        tracks.event_name,
        tracks.occurred_at,
        tracks.event_date,
        product_users.product_account_id,
        product_account_identity.account_id,
        case
            when product_users.user_id is null then 'unknown_user'
            when product_account_identity.account_id is null then 'unmatched_product_account'
            else 'attributed'
        end as attribution_status
    from tracks
    left join product_users
        on tracks.user_id = product_users.user_id
    left join product_account_identity
        on product_users.product_account_id = product_account_identity.product_account_id

)

select * from attributed
