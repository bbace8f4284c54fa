{#-
    The health score of every paying account-day under every configuration
    version: the sum of its components' contributions, rounded to one
    decimal, and the band that score falls in under the same version.
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

health_bands as (

    select * from {{ ref('health_bands') }}

),

-- A band runs from its min_score up to the next band's min_score.
band_ranges as (

    select
        config_version,
        health_band,
        min_score,
        lead(min_score) over (
            partition by config_version order by min_score
        ) as next_min_score
    from health_bands

),

scores as (

    select
        account_id,
        date_day,
        config_version,
        is_version_in_effect,
        segment,
        {{ round_half_up('sum(contribution)', 1) }} as health_score,
        sum(case when has_data then 1 else 0 end) as components_with_data
    from components
    group by account_id, date_day, config_version, is_version_in_effect, segment

),

-- The components left out, listed apart from the sums: an ordered list is
-- costly per group, and only the rows without data need one.
exclusions as (

    select
        account_id,
        date_day,
        config_version,
        {{ ordered_listagg('component', "', '", 'component') }} as excluded_components
    from components
    where not has_data
    group by account_id, date_day, config_version

),

-- A day with no component data has no score (and no band).
banded as (

    select
        scores.*,
        exclusions.excluded_components,
        band_ranges.health_band
    from scores
    left join exclusions
        on
            scores.account_id = exclusions.account_id
            and scores.date_day = exclusions.date_day
            and scores.config_version = exclusions.config_version
    left join band_ranges
        on
            scores.config_version = band_ranges.config_version
            and scores.health_score >= band_ranges.min_score
            and (
                band_ranges.next_min_score is null
                or scores.health_score < band_ranges.next_min_score
            )
    where scores.components_with_data > 0

),

final as (

    select
        account_id,
        date_day,
        config_version,
        is_version_in_effect,
        segment,
        cast(health_score as {{ health_double() }}) as health_score,
        cast(health_band as {{ dbt.type_string() }}) as health_band,
        cast(components_with_data as {{ dbt.type_int() }}) as components_with_data,
        cast(excluded_components as {{ dbt.type_string() }}) as excluded_components,
        '{{ invocation_id }}' as dbt_invocation_id
    from banded

)

select * from final
