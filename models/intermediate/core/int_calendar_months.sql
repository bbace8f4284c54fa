{#-
    One row per calendar month from var calendar_start_date through the month
    of the as-of date. `snapshot_at` is the instant a month's state is read
    at: the start of the next month, or the as-of date for the current month
    (the data describes the days before it).
-#}

with

spine as (

    {{ dbt.date_spine(
        'month',
        "cast('" ~ var('calendar_start_date') ~ "' as date)",
        dbt.dateadd('month', 1, dbt.date_trunc('month', as_of_date()))
    ) }}

),

months as (

    select
        cast(date_month as date) as month_start_date,
        cast({{ dbt.dateadd('month', 1, 'date_month') }} as date) as next_month_start_date
    from spine

),

final as (

    select
        month_start_date,
        next_month_start_date,
        cast(
            case
                when next_month_start_date > {{ as_of_date() }} then {{ as_of_date() }}
                else next_month_start_date
            end as {{ dbt.type_timestamp() }}
        ) as snapshot_at,
        next_month_start_date > {{ as_of_date() }} as is_current_month
    from months

)

select * from final
