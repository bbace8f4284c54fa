-- fct_mrr_movements_monthly: in every segment, a month starts where the
-- previous month ended, in MRR and in logos (the first month starts at zero).
-- Returns the months that break the chain.

with

movements as (

    select * from {{ ref('fct_mrr_movements_monthly') }}

),

chained as (

    select
        month_start_date,
        segment,
        starting_mrr,
        starting_logos,
        lag(ending_mrr) over (
            partition by segment order by month_start_date
        ) as previous_ending_mrr,
        lag(ending_logos) over (
            partition by segment order by month_start_date
        ) as previous_ending_logos,
        lag(month_start_date) over (
            partition by segment order by month_start_date
        ) as previous_month_start_date
    from movements

)

select *
from chained
where
    starting_mrr <> coalesce(previous_ending_mrr, 0)
    or starting_logos <> coalesce(previous_ending_logos, 0)
    or (
        previous_month_start_date is not null
        and previous_month_start_date
        <> cast({{ dbt.dateadd('month', -1, 'month_start_date') }} as date)
    )
