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

-- Days counted from a fixed origin, so a window frame can reach an exact
-- number of days back on every engine (a range frame over a number).
numbered_scores as (

    select
        *,
        {{ days_between("cast('2000-01-01' as date)", 'date_day') }} as day_number
    from scores

),

-- The score 7 and 28 days earlier under the same version: past scores are
-- read under today's version, so a configuration change does not show as a
-- trend. A window over the account's days rather than two self-joins: at
-- 100,000 accounts the joins' two hash tables of every account-day outgrew
-- DuckDB's 8 GB limit, while the window sorts, and spills, once.
with_trend as (

    select
        *,
        max(health_score) over (
            partition by account_id, config_version
            order by day_number
            range between 7 preceding and 7 preceding
        ) as score_7d_ago,
        max(health_score) over (
            partition by account_id, config_version
            order by day_number
            range between 28 preceding and 28 preceding
        ) as score_28d_ago
    from numbered_scores

),

current_scores as (

    select *
    from with_trend
    where
        is_version_in_effect
        and {{ account_day_filter('date_day', rebuild_from) }}

),

final as (

    select
        current_scores.account_id,
        current_scores.date_day,
        current_scores.segment,
        daily_facts.owner_id,
        current_scores.health_score,
        current_scores.health_band,
        current_scores.score_7d_ago,
        current_scores.score_28d_ago,
        cast(
            {{ round_half_up('current_scores.health_score - current_scores.score_7d_ago', 1) }}
            as {{ health_double() }}
        ) as trend_7d,
        cast(
            {{ round_half_up('current_scores.health_score - current_scores.score_28d_ago', 1) }}
            as {{ health_double() }}
        ) as trend_28d,
        cast(case
            when current_scores.score_7d_ago is null then null
            when
                current_scores.health_score - current_scores.score_7d_ago
                >= config_versions.trend_flat_points
                then '↑'
            when
                current_scores.score_7d_ago - current_scores.health_score
                >= config_versions.trend_flat_points
                then '↓'
            else '→'
        end as {{ dbt.type_string() }}) as trend_arrow,
        current_scores.config_version,
        current_scores.components_with_data,
        current_scores.excluded_components,
        cast(
            coalesce(reasons.health_reason, 'every component at full points')
            as {{ dbt.type_string() }}
        ) as health_reason
    from current_scores
    inner join config_versions
        on current_scores.config_version = config_versions.config_version
    left join daily_facts
        on
            current_scores.account_id = daily_facts.account_id
            and current_scores.date_day = daily_facts.date_day
    left join reasons
        on
            current_scores.account_id = reasons.account_id
            and current_scores.date_day = reasons.date_day

)

select * from final
