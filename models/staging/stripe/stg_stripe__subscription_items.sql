with

source as (

    select * from {{ source('stripe', 'subscription_item') }}

),

latest as (

    select
        *,
        row_number() over (
            partition by id
            order by _fivetran_synced desc, _loaded_at desc, _loaded_line desc
        ) as version_rank
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
