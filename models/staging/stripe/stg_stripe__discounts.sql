with

source as (

    select * from {{ source('stripe', 'discount') }}

),

latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as discount_id,
        coupon_id,
        customer_id,
        subscription_id,
        start as starts_at,
        -- A reserved word: quoted the engine's way (Spark reads "end" as text).
        {{ adapter.quote('end') }} as ends_at
    from latest
    where version_rank = 1

)

select * from renamed
