with

source as (

    select * from {{ source('hubspot', 'contact') }}

),

-- The connector re-syncs changed contacts; keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as contact_id,
        nullif(lower(trim(property_email)), '') as email,
        {{ normalize_domain('property_email') }} as email_domain,
        nullif(trim(property_firstname), '') as first_name,
        nullif(trim(property_lastname), '') as last_name,
        nullif(trim(property_jobtitle), '') as job_title,
        property_associatedcompanyid as company_id,
        property_createdate as created_at,
        _fivetran_synced as synced_at
    from latest
    where
        version_rank = 1
        and not coalesce(_fivetran_deleted, false)

),

-- A free-mail address says nothing about the contact's company.
flagged as (

    select
        *,
        coalesce(email_domain in {{ personal_email_domains() }}, false)
            as is_personal_email_domain
    from renamed

)

select * from flagged
