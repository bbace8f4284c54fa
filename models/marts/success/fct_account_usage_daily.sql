{#-
    One row per account per day, from the account's contract start to the day
    before the as-of date: product usage, its 7- and 28-day windows, week over
    week change, seat utilisation and key-feature adoption, as
    int_account_daily_facts measures them (at the end of each day, looking
    back only).
    Incremental by day (macros/incremental.sql): a run rebuilds the days
    from rebuild_from on.
-#}

{{ config(**account_day_config()) }}

{%- set rebuild_from = account_days_rebuild_from(ref('int_account_daily_facts')) -%}

with

facts as (

    select * from {{ ref('int_account_daily_facts') }}
    where {{ account_day_filter('date_day', rebuild_from) }}

),

final as (

    select
        account_id,
        date_day,
        segment,
        owner_id,
        is_paying,
        is_trialing,
        plan_name,
        cast(contracted_seats as {{ dbt.type_int() }}) as contracted_seats,
        cast(events_1d as {{ dbt.type_bigint() }}) as events_1d,
        cast(active_users_1d as {{ dbt.type_bigint() }}) as active_users_1d,
        cast(key_feature_events_1d as {{ dbt.type_bigint() }}) as key_feature_events_1d,
        cast(events_7d as {{ dbt.type_bigint() }}) as events_7d,
        cast(events_prev_7d as {{ dbt.type_bigint() }}) as events_prev_7d,
        usage_change_wow,
        cast(active_users_7d as {{ dbt.type_bigint() }}) as active_users_7d,
        cast(active_users_28d as {{ dbt.type_bigint() }}) as active_users_28d,
        seat_utilisation,
        cast(key_features_used_28d as {{ dbt.type_bigint() }}) as key_features_used_28d,
        key_feature_adoption,
        first_key_event_date
    from facts

)

select * from final
