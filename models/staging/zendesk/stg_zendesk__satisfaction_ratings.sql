with

source as (

    select * from {{ source('zendesk', 'satisfaction_rating') }}

),

-- The connector re-syncs a rating when it changes; keep the latest version.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as satisfaction_rating_id,
        ticket_id,
        requester_id,
        lower(nullif(trim(score), '')) as score,
        nullif(trim(comment), '') as comment,  -- noqa: RF04
        nullif(trim(reason), '') as reason,
        created_at,
        updated_at,
        _fivetran_synced as synced_at
    from latest
    where version_rank = 1

),

-- Only good and bad are answers; offered and unoffered are surveys not
-- (yet) answered and must not count in a satisfaction rate.
flagged as (

    select
        *,
        coalesce(score in ('good', 'bad'), false) as is_rated,
        coalesce(score = 'good', false) as is_good
    from renamed

)

select * from flagged
