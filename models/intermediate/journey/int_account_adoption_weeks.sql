{#-
    Key-feature use per account and contract week, and whether the week
    completes consistent adoption: key features used in at least
    var journey_adoption_weeks_required (3) of the last
    var journey_adoption_window_weeks (4) contract weeks, this one included.
-#}

{%- set weeks_required = var('journey_adoption_weeks_required', 3) | int %}
{%- set window_weeks = var('journey_adoption_window_weeks', 4) | int %}

with

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

-- Weeks count from the contract start (days 0–6 are week 0), so every week
-- but the current one has seven days and the first is not a calendar stub.
contract_days as (

    select
        account_id,
        date_day,
        key_feature_events_1d,
        cast(floor(days_since_contract_start / 7.0) as {{ dbt.type_int() }}) as contract_week
    from daily_facts

),

weeks as (

    select
        account_id,
        contract_week,
        min(date_day) as week_start_date,
        max(date_day) as week_end_date,
        sum(key_feature_events_1d) as key_feature_events,
        min(case when key_feature_events_1d > 0 then date_day end) as first_key_feature_date
    from contract_days
    group by account_id, contract_week

),

-- The facts have a row for every day, so every week is a row and a window
-- of rows is a window of consecutive weeks.
rolling as (

    select
        *,
        case when key_feature_events > 0 then 1 else 0 end as has_key_feature_use,
        sum(case when key_feature_events > 0 then 1 else 0 end) over (
            partition by account_id
            order by contract_week
            rows between {{ window_weeks - 1 }} preceding and current row
        ) as key_feature_weeks_in_window
    from weeks

),

final as (

    select
        account_id,
        contract_week,
        week_start_date,
        week_end_date,
        key_feature_events,
        first_key_feature_date,
        has_key_feature_use = 1 as has_key_feature_use,
        key_feature_weeks_in_window,
        (
            has_key_feature_use = 1
            and key_feature_weeks_in_window >= {{ weeks_required }}
        ) as completes_adoption
    from rolling

)

select * from final
