with

source as (

    select * from {{ source('hubspot', 'engagement') }}

),

-- The connector re-syncs changed engagements; keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

-- An engagement removed in HubSpot stays in the feed with active = false.
renamed as (

    select
        id as engagement_id,
        lower(nullif(trim(type), '')) as engagement_type,
        owner_id,
        timestamp as occurred_at,
        created_at,
        _fivetran_synced as synced_at
    from latest
    where
        version_rank = 1
        and coalesce(active, true)

)

select * from renamed
