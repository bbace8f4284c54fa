with

source as (

    select * from {{ source('hubspot', 'engagement_meeting') }}

),

-- The connector re-syncs changed meetings; keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('engagement_id') }} as version_rank
    from source

),

renamed as (

    select
        engagement_id,
        nullif(trim(property_hs_meeting_title), '') as meeting_title,
        lower(nullif(trim(property_hs_meeting_outcome), '')) as meeting_outcome,
        property_hubspot_owner_id as owner_id,
        property_hs_timestamp as meeting_at,
        _fivetran_synced as synced_at
    from latest
    where version_rank = 1

)

select * from renamed
