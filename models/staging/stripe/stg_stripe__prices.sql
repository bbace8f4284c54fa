with

source as (

    select * from {{ source('stripe', 'price') }}

),

latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as price_id,
        product_id,
        nickname as price_name,
        lower(currency) as currency,
        {{ minor_to_major_units('unit_amount', 'currency') }} as unit_amount,
        lower(coalesce(type, case when recurring_interval is null then 'one_time' end, 'recurring'))
            as price_type,
        lower(recurring_interval) as billing_interval,
        coalesce(recurring_interval_count, 1) as billing_interval_count,
        lower(recurring_usage_type) as usage_type,
        coalesce(active, true) as is_active,
        created as created_at
    from latest
    where version_rank = 1

)

select * from renamed
