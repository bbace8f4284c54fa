with

source as (

    select * from {{ source('stripe', 'subscription_item') }}

),

latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as subscription_item_id,
        subscription_id,
        price_id,
        quantity,
        created as created_at
    from latest
    where version_rank = 1

)

select * from renamed
