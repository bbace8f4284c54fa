{#-
    One row per paying account-day with at least one component short of full
    points under the version in effect: the three components that cost the
    score most, worst first, in words. Its own model because ranking and
    joining every account-day's components is the heaviest step of the health
    mart: on its own it stays within DuckDB's memory limit at 100,000
    accounts, inside the mart it did not. Incremental by day
    (macros/incremental.sql).
-#}

{{ config(**account_day_config()) }}

{%- set rebuild_from = account_days_rebuild_from(
    ref('int_account_health_components_all_versions')
) -%}

with

components as (

    select * from {{ ref('int_account_health_components_all_versions') }}
    where {{ account_day_filter('date_day', rebuild_from) }}

),

ranked_shortfalls as (

    select
        account_id,
        date_day,
        raw_value_text,
        row_number() over (
            partition by account_id, date_day
            order by points_lost desc, component asc
        ) as shortfall_rank
    from components
    where
        is_version_in_effect
        and has_data
        and points < 100

),

reasons as (

    select
        account_id,
        date_day,
        cast(
            {{ ordered_listagg('raw_value_text', "'; '", 'shortfall_rank') }}
            as {{ dbt.type_string() }}
        ) as health_reason
    from ranked_shortfalls
    where shortfall_rank <= 3
    group by account_id, date_day

),

final as (

    select
        account_id,
        date_day,
        health_reason,
        '{{ invocation_id }}' as dbt_invocation_id
    from reasons

)

select * from final
