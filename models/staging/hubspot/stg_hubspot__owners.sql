with

source as (

    select * from {{ source('hubspot', 'owner') }}

),

-- The connector re-syncs changed owners; keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('owner_id') }} as version_rank
    from source

),

renamed as (

    select
        owner_id,
        nullif(lower(trim(email)), '') as email,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        -- HubSpot keeps deactivated users as owners, without a user id.
        active_user_id is not null as is_active,
        created_at,
        updated_at,
        _fivetran_synced as synced_at
    from latest
    where version_rank = 1

),

named as (

    select
        *,
        nullif(
            trim({{ dbt.concat(["coalesce(first_name, '')", "' '", "coalesce(last_name, '')"]) }}),
            ''
        ) as full_name
    from renamed

)

select * from named
