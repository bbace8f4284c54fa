with

source as (

    select * from {{ source('segment', 'tracks') }}

),

-- Segment delivers at least once: the same message id can arrive twice.
-- The first delivery wins, so a retry never moves an event in time.
deduplicated as (

    select
        *,
        row_number() over (
            partition by id
            order by received_at, _loaded_at, _loaded_line
        ) as delivery_rank
    from source

),

renamed as (

    select
        id as event_id,
        user_id,
        anonymous_id,
        lower(event) as event_name,
        event_text,
        timestamp as occurred_at,
        cast(timestamp as date) as event_date,
        sent_at,
        received_at,
        -- Late events change days that were already built; incremental models
        -- reprocess a lookback window because of them.
        (
            {{ dbt.datediff('timestamp', 'received_at', 'hour') }}
            > {{ var('late_arrival_threshold_hours') }}
        ) as is_late_arriving
    from deduplicated
    where delivery_rank = 1

)

select * from renamed
