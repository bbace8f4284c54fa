with

source as (

    select * from {{ source('segment', 'groups') }}

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by id
            order by received_at, _loaded_at, _loaded_line
        ) as delivery_rank
    from source

),

renamed as (

    select
        id as group_call_id,
        user_id,
        group_id as product_account_id,
        name as account_name,
        {{ normalize_domain('website') }} as website_domain,
        timestamp as called_at,
        received_at
    from deduplicated
    where delivery_rank = 1

)

select * from renamed
