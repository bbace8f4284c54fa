with

source as (

    select * from {{ source('stripe', 'invoice_line_item') }}

),

latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as invoice_line_item_id,
        invoice_id,
        subscription_id,
        subscription_item_id,
        price_id,
        lower(type) as line_type,
        lower(currency) as currency,
        {{ minor_to_major_units('amount', 'currency') }} as amount,
        quantity,
        coalesce(proration, false) as is_proration,
        period_start as period_start_at,
        period_end as period_end_at
    from latest
    where version_rank = 1

)

select * from renamed
