{#-
    The components of each paying account-day's health score under the
    configuration version in effect that day. To see a day under another
    version, read int_account_health_components_all_versions.
    Incremental by day (macros/incremental.sql): a run rebuilds the days
    from rebuild_from on.
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

final as (

    select
        account_id,
        date_day,
        component,
        config_version,
        segment,
        raw_value,
        raw_value_text,
        has_data,
        exclusion_reason,
        points,
        weight,
        effective_weight,
        contribution,
        points_lost
    from components
    where is_version_in_effect

)

select * from final
