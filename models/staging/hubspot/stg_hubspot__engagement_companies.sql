with

source as (

    select * from {{ source('hubspot', 'engagement_company') }}

),

-- The connector re-syncs associations, so the same pair can arrive more than
-- once; keep one copy of each.
deduplicated as (

    select
        *,
        {{ connector_version_rank('engagement_id, company_id') }} as copy_rank
    from source
    where
        engagement_id is not null
        and company_id is not null

),

renamed as (

    select
        engagement_id,
        company_id,
        _fivetran_synced as synced_at
    from deduplicated
    where copy_rank = 1

)

select * from renamed
