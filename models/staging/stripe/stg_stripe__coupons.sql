with

source as (

    select * from {{ source('stripe', 'coupon') }}

),

latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as coupon_id,
        name as coupon_name,
        percent_off,
        lower(currency) as currency,
        {{ minor_to_major_units('amount_off', 'currency') }} as amount_off,
        lower(duration) as duration,
        duration_in_months,
        coalesce(valid, true) as is_valid,
        created as created_at
    from latest
    where version_rank = 1

)

select * from renamed
