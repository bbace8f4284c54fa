{#-
    Time to value by segment and cohort month (month of the contract start):
    how many accounts reached first and full value, and the median, 75th and
    90th percentile days among those that did. Accounts still on their way
    are in the counts, not the percentiles, so a young cohort's percentiles
    only describe its fastest accounts: read them with the reached shares.
-#}

with

time_to_value as (

    select * from {{ ref('fct_time_to_value') }}

),

final as (

    select
        segment,
        cohort_month,
        count(*) as account_count,
        count(case when has_first_value then 1 end) as first_value_account_count,
        count(case when has_full_value then 1 end) as full_value_account_count,
        avg(case when has_first_value then 1 else 0 end) as first_value_share,
        avg(case when has_full_value then 1 else 0 end) as full_value_share,
        percentile_cont(0.5) within group (order by days_to_first_value)
            as median_days_to_first_value,
        percentile_cont(0.75) within group (order by days_to_first_value)
            as p75_days_to_first_value,
        percentile_cont(0.9) within group (order by days_to_first_value)
            as p90_days_to_first_value,
        percentile_cont(0.5) within group (order by days_to_full_value)
            as median_days_to_full_value,
        percentile_cont(0.75) within group (order by days_to_full_value)
            as p75_days_to_full_value,
        percentile_cont(0.9) within group (order by days_to_full_value)
            as p90_days_to_full_value
    from time_to_value
    group by segment, cohort_month

)

select * from final
