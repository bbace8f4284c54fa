with

source as (

    select * from {{ source('stripe', 'coupon') }}

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
