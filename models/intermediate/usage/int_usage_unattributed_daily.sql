{#-
    One row per day and reason for the product events that count for no
    account (a user never grouped into a product account, or a product account
    identity resolution did not match), so the usage facts' blind spot stays
    visible instead of silently shrinking the numbers.
-#}

with

user_events as (

    select * from {{ ref('int_user_events_daily_attributed') }}

),

unattributed as (

    select
        event_date,
        attribution_status,
        cast(sum(event_count) as {{ dbt.type_bigint() }}) as event_count,
        count(distinct user_id) as user_count
    from user_events
    where attribution_status <> 'attributed'
    group by event_date, attribution_status

)

select * from unattributed
