with

source as (

    select * from {{ source('hubspot', 'company') }}

),

-- The connector re-syncs changed companies; keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

-- A company archived in HubSpot or seen deleted by the connector is gone,
-- whatever its earlier versions said.
renamed as (

    select
        id as company_id,
        portal_id,
        nullif(trim(property_name), '') as company_name,
        {{ normalize_domain('property_domain') }} as domain,  -- noqa: RF04
        nullif(trim(property_industry), '') as industry,
        property_numberofemployees as employee_count,
        property_annualrevenue as annual_revenue_usd,
        lower(nullif(trim(property_lifecyclestage), '')) as lifecycle_stage,
        property_hubspot_owner_id as owner_id,
        nullif(trim(property_product_account_id), '') as product_account_id,
        property_createdate as created_at,
        property_hs_lastmodifieddate as updated_at,
        _fivetran_synced as synced_at
    from latest
    where
        version_rank = 1
        and not coalesce(is_deleted, false)
        and not coalesce(_fivetran_deleted, false)

)

select * from renamed
