with

source as (

    select * from {{ source('hubspot', 'deal') }}

),

-- The connector re-syncs changed deals; keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('deal_id') }} as version_rank
    from source

),

renamed as (

    select
        deal_id,
        nullif(trim(property_dealname), '') as deal_name,
        lower(nullif(trim(property_dealtype), '')) as deal_type,
        deal_pipeline_id as pipeline_id,
        lower(nullif(trim(deal_pipeline_stage_id), '')) as deal_stage,
        owner_id,
        property_amount as amount_usd,
        property_closedate,
        property_createdate as created_at,
        _fivetran_synced as synced_at
    from latest
    where
        version_rank = 1
        and not coalesce(is_deleted, false)

),

-- The close date is a forecast until the deal reaches a closed stage; only
-- then is it when the deal closed.
closed_flags as (

    select
        deal_id,
        deal_name,
        deal_type,
        pipeline_id,
        deal_stage,
        coalesce(deal_stage = 'closedwon', false) as is_closed_won,
        coalesce(deal_stage = 'closedlost', false) as is_closed_lost,
        coalesce(deal_stage in ('closedwon', 'closedlost'), false) as is_closed,
        owner_id,
        amount_usd,
        cast(property_closedate as date) as close_date,
        case
            when deal_stage in ('closedwon', 'closedlost') then property_closedate
        end as closed_at,
        created_at,
        synced_at
    from renamed

)

select * from closed_flags
