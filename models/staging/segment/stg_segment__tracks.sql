with

source as (

    select * from {{ source('segment', 'tracks') }}

),

dated as (

    select
        *,
        cast(timestamp as date) as event_date
    from source

),

-- Segment delivers at least once: the same message id can arrive twice.
-- The first delivery wins, so a retry never moves an event in time. A retry
-- carries its message's timestamp, so both deliveries share a day: ranking
-- within the day gives the same answer as ranking over all time, and lets a
-- filter on event_date reach the raw scan (incremental models read one day).
deduplicated as (

    select
        *,
        row_number() over (
            partition by event_date, id
            order by received_at, _loaded_at, _loaded_line
        ) as delivery_rank
    from dated

),

renamed as (

    select
        id as event_id,
        user_id,
        anonymous_id,
        lower(event) as event_name,
        event_text,
        timestamp as occurred_at,
        event_date,
        sent_at,
        received_at,
        -- Late events change days that were already built; incremental models
        -- reprocess those days (int_product_user_events_daily).
        (
            {{ dbt.datediff('timestamp', 'received_at', 'hour') }}
            > {{ var('late_arrival_threshold_hours') }}
        ) as is_late_arriving
    from deduplicated
    where delivery_rank = 1

)

select * from renamed
