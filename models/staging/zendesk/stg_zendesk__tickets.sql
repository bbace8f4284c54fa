with

source as (

    select * from {{ source('zendesk', 'ticket') }}

),

-- The connector re-syncs a ticket at each change; keep the latest version.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as ticket_id,
        organization_id,
        requester_id,
        assignee_id,
        lower(nullif(trim(status), '')) as status,
        lower(nullif(trim(priority), '')) as priority,
        lower(nullif(trim(type), '')) as ticket_type,
        nullif(trim(subject), '') as subject,
        lower(nullif(trim(via_channel), '')) as channel,
        created_at,
        updated_at,
        _fivetran_synced as synced_at
    from latest
    where version_rank = 1

),

-- Open means still waiting on someone: new, open, pending or on hold.
flagged as (

    select
        *,
        coalesce(status in ('new', 'open', 'pending', 'hold'), false) as is_open,
        coalesce(priority in ('urgent', 'high'), false) as is_urgent_or_high
    from renamed

)

select * from flagged
