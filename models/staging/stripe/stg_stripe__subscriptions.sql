with

history as (

    select * from {{ ref('stg_stripe__subscription_history') }}

),

-- The version the connector marks active is the subscription as it is now.
current_versions as (

    select
        subscription_id,
        customer_id,
        status,
        seat_quantity,
        created_at,
        started_at,
        current_period_start_at,
        current_period_end_at,
        cancel_at,
        is_cancel_at_period_end,
        canceled_at,
        ended_at,
        trial_start_at,
        trial_end_at,
        valid_from_at as last_changed_at
    from history
    where is_current_version

)

select * from current_versions
