with

source as (

    select * from {{ source('stripe', 'subscription_history') }}

),

-- A version can arrive twice when the connector re-syncs; keep one copy.
deduplicated as (

    select
        *,
        {{ connector_version_rank('id, _fivetran_start') }} as copy_rank
    from source

),

renamed as (

    select
        id as subscription_id,
        customer_id,
        lower(status) as status,
        quantity as seat_quantity,
        created as created_at,
        start_date as started_at,
        current_period_start as current_period_start_at,
        current_period_end as current_period_end_at,
        cancel_at,
        coalesce(cancel_at_period_end, false) as is_cancel_at_period_end,
        canceled_at,
        ended_at,
        trial_start as trial_start_at,
        trial_end as trial_end_at,
        billing_cycle_anchor as billing_cycle_anchor_at,
        _fivetran_start as valid_from_at,
        _fivetran_end as valid_to_at,
        coalesce(_fivetran_active, false) as is_current_version
    from deduplicated
    where copy_rank = 1

)

select * from renamed
