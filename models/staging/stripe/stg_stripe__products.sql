with

source as (

    select * from {{ source('stripe', 'product') }}

),

latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as product_id,
        name as product_name,
        coalesce(active, true) as is_active,
        created as created_at,
        updated as updated_at
    from latest
    where
        version_rank = 1
        and not coalesce(is_deleted, false)

)

select * from renamed
