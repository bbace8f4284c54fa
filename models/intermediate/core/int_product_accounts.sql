with

group_calls as (

    select * from {{ ref('stg_segment__groups') }}

),

-- Traits change over time; the latest call carries the current name and site.
ranked as (

    select
        *,
        row_number() over (
            partition by product_account_id
            order by called_at desc, received_at desc, group_call_id desc
        ) as recency_rank
    from group_calls

),

user_counts as (

    select
        product_account_id,
        count(distinct user_id) as user_count,
        min(called_at) as first_seen_at
    from group_calls
    group by product_account_id

),

product_accounts as (

    select
        ranked.product_account_id,
        ranked.account_name,
        ranked.website_domain,
        user_counts.user_count,
        user_counts.first_seen_at
    from ranked
    inner join user_counts
        on ranked.product_account_id = user_counts.product_account_id
    where ranked.recency_rank = 1

)

select * from product_accounts
