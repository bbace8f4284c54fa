with

source as (

    select * from {{ source('stripe', 'invoice') }}

),

-- Invoices change status after creation (open, then paid); keep the latest.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as invoice_id,
        customer_id,
        subscription_id,
        lower(status) as status,
        lower(billing_reason) as billing_reason,
        lower(currency) as currency,
        {{ minor_to_major_units('amount_due', 'currency') }} as amount_due,
        {{ minor_to_major_units('amount_paid', 'currency') }} as amount_paid,
        {{ minor_to_major_units('amount_remaining', 'currency') }} as amount_remaining,
        {{ minor_to_major_units('subtotal', 'currency') }} as subtotal_amount,
        {{ minor_to_major_units('tax', 'currency') }} as tax_amount,
        {{ minor_to_major_units('total', 'currency') }} as total_amount,
        coalesce(paid, lower(status) = 'paid') as is_paid,
        created as created_at,
        due_date as due_at,
        period_start as period_start_at,
        period_end as period_end_at
    from latest
    where version_rank = 1

)

select * from renamed
