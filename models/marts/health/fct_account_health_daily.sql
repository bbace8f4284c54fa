{#-
    The health score of each paying account-day under the configuration
    version in effect that day, with its trend and the reason in words.
    Incremental by day (macros/incremental.sql): a run rebuilds the days
    from rebuild_from on, reading scores back as far as the 28-day trend.
-#}

{{ config(**account_day_config()) }}

{%- set rebuild_from = account_days_rebuild_from(
    ref('int_account_health_scores_all_versions')
) -%}

with

scores as (

    select * from {{ ref('int_account_health_scores_all_versions') }}
    where {{ account_day_filter('date_day', rebuild_from, 28) }}

),

reasons as (

    select * from {{ ref('int_account_health_reasons') }}
    where {{ account_day_filter('date_day', rebuild_from) }}

),

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}
    where {{ account_day_filter('date_day', rebuild_from) }}

),

config_versions as (

    select * from {{ ref('health_config_versions') }}

),

current_scores as (

    select *
    from scores
    where
        is_version_in_effect
        and {{ account_day_filter('date_day', rebuild_from) }}

),

-- Past scores are read under today's version, so a configuration change does
-- not show as a trend.
with_trend as (

    select
        current_scores.*,
        scores_7d_ago.health_score as score_7d_ago,
        scores_28d_ago.health_score as score_28d_ago
    from current_scores
    left join scores as scores_7d_ago
        on
            current_scores.account_id = scores_7d_ago.account_id
            and current_scores.config_version = scores_7d_ago.config_version
            and scores_7d_ago.date_day
            = cast({{ dbt.dateadd('day', -7, 'current_scores.date_day') }} as date)
    left join scores as scores_28d_ago
        on
            current_scores.account_id = scores_28d_ago.account_id
            and current_scores.config_version = scores_28d_ago.config_version
            and scores_28d_ago.date_day
            = cast({{ dbt.dateadd('day', -28, 'current_scores.date_day') }} as date)

),

final as (

    select
        with_trend.account_id,
        with_trend.date_day,
        with_trend.segment,
        daily_facts.owner_id,
        with_trend.health_score,
        with_trend.health_band,
        with_trend.score_7d_ago,
        with_trend.score_28d_ago,
        cast(
            {{ round_half_up('with_trend.health_score - with_trend.score_7d_ago', 1) }}
            as {{ health_double() }}
        ) as trend_7d,
        cast(
            {{ round_half_up('with_trend.health_score - with_trend.score_28d_ago', 1) }}
            as {{ health_double() }}
        ) as trend_28d,
        cast(case
            when with_trend.score_7d_ago is null then null
            when
                with_trend.health_score - with_trend.score_7d_ago
                >= config_versions.trend_flat_points
                then '↑'
            when
                with_trend.score_7d_ago - with_trend.health_score
                >= config_versions.trend_flat_points
                then '↓'
            else '→'
        end as {{ dbt.type_string() }}) as trend_arrow,
        with_trend.config_version,
        with_trend.components_with_data,
        with_trend.excluded_components,
        cast(
            coalesce(reasons.health_reason, 'every component at full points')
            as {{ dbt.type_string() }}
        ) as health_reason
    from with_trend
    inner join config_versions
        on with_trend.config_version = config_versions.config_version
    left join daily_facts
        on
            with_trend.account_id = daily_facts.account_id
            and with_trend.date_day = daily_facts.date_day
    left join reasons
        on
            with_trend.account_id = reasons.account_id
            and with_trend.date_day = reasons.date_day

)

select * from final
