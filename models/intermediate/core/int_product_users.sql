with

group_calls as (

    select * from {{ ref('stg_segment__groups') }}

),

-- A user belongs to the account of their latest group call; B2B products
-- rarely move users between accounts, and when they do the latest wins.
ranked as (

    select
        *,
        row_number() over (
            partition by user_id
            order by called_at desc, received_at desc, group_call_id desc
        ) as recency_rank
    from group_calls

),

product_users as (

    select
        user_id,
        product_account_id,
        called_at as last_grouped_at
    from ranked
    where recency_rank = 1

)

select * from product_users
