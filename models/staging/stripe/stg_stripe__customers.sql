with

source as (

    select * from {{ source('stripe', 'customer') }}

),

-- The connector re-syncs changed customers; keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as customer_id,
        name as customer_name,
        lower(trim(email)) as email,
        {{ normalize_domain('email') }} as email_domain,
        lower(currency) as currency,
        {{ json_text('metadata', 'hubspot_company_id') }} as crm_company_id,
        coalesce(delinquent, false) as is_delinquent,
        coalesce(livemode, true) as is_livemode,
        created as created_at,
        _fivetran_synced as synced_at
    from latest
    where
        version_rank = 1
        and not coalesce(is_deleted, false)

)

select * from renamed
