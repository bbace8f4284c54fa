{#-
    Every paying account-day scored under every configuration version: one row
    per account, day, version and component. The marts keep the version in
    effect on each day (is_version_in_effect); the other versions are here so
    history can be recomputed and compared under any of them (the trend of the
    daily score compares days under the same version).
    Incremental by day (macros/incremental.sql): a run rebuilds the days
    from rebuild_from on.
-#}

{{ config(**account_day_config()) }}

{%- set rebuild_from = account_days_rebuild_from(ref('int_account_daily_facts')) -%}

with

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}
    where {{ account_day_filter('date_day', rebuild_from) }}

),

config_versions as (

    select * from {{ ref('health_config_versions') }}

),

component_weights as (

    select * from {{ ref('health_component_weights') }}

),

component_thresholds as (

    select * from {{ ref('health_component_thresholds') }}

),

onboarding_schedule as (

    select * from {{ ref('health_onboarding_schedule') }}

),

-- The score describes customers: days without MRR-counting status are left out.
paying_days as (

    select *
    from daily_facts
    where is_paying

),

-- Each version applies from its valid_from_date until the next version starts.
version_ranges as (

    select
        *,
        lead(valid_from_date) over (order by valid_from_date) as valid_to_date
    from config_versions

),

-- For each version, the milestones expected from each day since the contract
-- start until the next milestone is due (before the first one: none).
onboarding_expectations as (

    select
        config_version,
        step_number as expected_steps,
        expected_by_day as from_day,
        lead(expected_by_day) over (
            partition by config_version order by step_number
        ) as to_day,
        max(step_number) over (partition by config_version) as total_steps
    from onboarding_schedule

),

onboarding_totals as (

    select
        config_version,
        max(total_steps) as total_steps
    from onboarding_expectations
    group by config_version

),

-- The components, in the order they are added up, and why each is left out
-- when it has no value.
component_names as (

    select
        'usage_trend' as component,
        'no product events in the previous 7 days' as no_data_reason

    union all

    select
        'key_feature_adoption' as component,
        'no key-feature data' as no_data_reason

    union all

    select
        'support_load' as component,
        'no support data' as no_data_reason

    union all

    select
        'sentiment' as component,
        'no recent NPS or CSAT answer' as no_data_reason

    union all

    select
        'onboarding' as component,
        'onboarding complete after the onboarding window' as no_data_reason

    union all

    select
        'seat_utilisation' as component,
        'no contracted seats' as no_data_reason

    union all

    select
        'engagement' as component,
        'no CRM engagement data' as no_data_reason

),

-- Each component's weight as a column, so that the weights of the components
-- with data are summed on one row per account-day and version (below) rather
-- than by a window over the seven component rows.
segment_weights as (

    select
        config_version,
        segment,
        max(case when component = 'usage_trend' then weight end) as usage_trend_weight,
        max(case when component = 'key_feature_adoption' then weight end)
            as key_feature_adoption_weight,
        max(case when component = 'support_load' then weight end) as support_load_weight,
        max(case when component = 'sentiment' then weight end) as sentiment_weight,
        max(case when component = 'onboarding' then weight end) as onboarding_weight,
        max(case when component = 'seat_utilisation' then weight end)
            as seat_utilisation_weight,
        max(case when component = 'engagement' then weight end) as engagement_weight
    from component_weights
    group by config_version, segment

),

-- The five components that read the day alone: their values (rounded to 4
-- decimals so that a band edge such as -0.30 is not missed by floating-point
-- noise) and the words the reason shows, built once per day rather than once
-- per version.
day_components as (

    select
        account_id,
        date_day,
        segment,
        days_since_contract_start,
        latest_nps_score,
        latest_nps_date,
        csat_score_90d,
        onboarding_steps_completed,
        {{ round_half_up('usage_change_wow', 4) }} as usage_trend_value,
        {{ dbt.concat([
            "'usage '",
            "case when usage_change_wow >= 0 then '+' else '' end",
            percent_text('usage_change_wow'),
            "'% WoW'",
        ]) }} as usage_trend_text,
        {{ round_half_up('key_feature_adoption', 4) }} as key_feature_adoption_value,
        {{ dbt.concat([
            "cast(coalesce(key_features_used_28d, 0) as " ~ dbt.type_string() ~ ")",
            "' key features used in 28d'",
        ]) }} as key_feature_adoption_text,
        case
            when open_urgent_high_tickets is not null or urgent_tickets_30d is not null
                then coalesce(open_urgent_high_tickets, 0) + coalesce(urgent_tickets_30d, 0)
        end as support_load_value,
        {{ dbt.concat([
            "cast(coalesce(open_urgent_high_tickets, 0) as " ~ dbt.type_string() ~ ")",
            "' urgent/high tickets open, '",
            "cast(coalesce(urgent_tickets_30d, 0) as " ~ dbt.type_string() ~ ")",
            "' urgent in 30d'",
        ]) }} as support_load_text,
        {{ round_half_up('seat_utilisation', 4) }} as seat_utilisation_value,
        {{ dbt.concat([
            "'seats '",
            percent_text('seat_utilisation'),
            "'% used'",
        ]) }} as seat_utilisation_text,
        engagements_30d as engagement_value,
        {{ dbt.concat([
            "cast(engagements_30d as " ~ dbt.type_string() ~ ")",
            "' CRM touches in 30d'",
        ]) }} as engagement_text
    from paying_days

),

facts_by_version as (

    select
        day_components.*,
        version_ranges.config_version,
        version_ranges.nps_lookback_days,
        version_ranges.onboarding_window_days,
        coalesce(onboarding_expectations.expected_steps, 0) as expected_onboarding_steps,
        coalesce(onboarding_totals.total_steps, 0) as total_onboarding_steps,
        coalesce(
            day_components.date_day >= version_ranges.valid_from_date
            and (
                version_ranges.valid_to_date is null
                or day_components.date_day < version_ranges.valid_to_date
            ),
            false
        ) as is_version_in_effect
    from day_components
    cross join version_ranges
    left join onboarding_totals
        on version_ranges.config_version = onboarding_totals.config_version
    left join onboarding_expectations
        on
            version_ranges.config_version = onboarding_expectations.config_version
            and day_components.days_since_contract_start >= onboarding_expectations.from_day
            and (
                onboarding_expectations.to_day is null
                or day_components.days_since_contract_start < onboarding_expectations.to_day
            )

),

-- The two components that depend on the version. A recent NPS answer (0-10)
-- wins; otherwise the 90-day CSAT average (1-5) is put on the same 0-10
-- scale: (csat - 1) * 2.5. Onboarding is milestones reached minus milestones
-- expected by this day (0 or more is on track), counted during the
-- onboarding window, then only while onboarding is incomplete.
version_components as (

    select
        *,
        case
            when
                latest_nps_score is not null
                and {{ days_between('latest_nps_date', 'date_day') }}
                < nps_lookback_days
                then latest_nps_score
            when csat_score_90d is not null
                then {{ round_half_up('(csat_score_90d - 1) * 2.5', 4) }}
        end as sentiment_value,
        case
            when
                latest_nps_score is not null
                and {{ days_between('latest_nps_date', 'date_day') }}
                < nps_lookback_days
                then {{ dbt.concat([
                    "'NPS '",
                    "cast(latest_nps_score as " ~ dbt.type_string() ~ ")",
                ]) }}
            when csat_score_90d is not null
                then {{ dbt.concat([
                    "'CSAT '",
                    "cast(" ~ round_half_up('csat_score_90d', 1) ~ " as " ~ dbt.type_string() ~ ")",
                ]) }}
        end as sentiment_text,
        case
            when
                days_since_contract_start < onboarding_window_days
                or coalesce(onboarding_steps_completed, 0) < total_onboarding_steps
                then coalesce(onboarding_steps_completed, 0) - expected_onboarding_steps
        end as onboarding_value,
        {{ dbt.concat([
            "'onboarding '",
            "cast(coalesce(onboarding_steps_completed, 0) as " ~ dbt.type_string() ~ ")",
            "' of '",
            "cast(expected_onboarding_steps as " ~ dbt.type_string() ~ ")",
            "' expected steps'",
        ]) }} as onboarding_text
    from facts_by_version

),

-- Components without data are left out and the others' weights scaled up so
-- that the weights used still sum to 1: the sum of the weights with data,
-- added in the components' order.
weighted_versions as (

    select
        version_components.*,
        segment_weights.usage_trend_weight,
        segment_weights.key_feature_adoption_weight,
        segment_weights.support_load_weight,
        segment_weights.sentiment_weight,
        segment_weights.onboarding_weight,
        segment_weights.seat_utilisation_weight,
        segment_weights.engagement_weight,
        nullif(
            coalesce(case
                when version_components.usage_trend_value is not null
                    then segment_weights.usage_trend_weight
            end, 0)
            + coalesce(case
                when version_components.key_feature_adoption_value is not null
                    then segment_weights.key_feature_adoption_weight
            end, 0)
            + coalesce(case
                when version_components.support_load_value is not null
                    then segment_weights.support_load_weight
            end, 0)
            + coalesce(case
                when version_components.sentiment_value is not null
                    then segment_weights.sentiment_weight
            end, 0)
            + coalesce(case
                when version_components.onboarding_value is not null
                    then segment_weights.onboarding_weight
            end, 0)
            + coalesce(case
                when version_components.seat_utilisation_value is not null
                    then segment_weights.seat_utilisation_weight
            end, 0)
            + coalesce(case
                when version_components.engagement_value is not null
                    then segment_weights.engagement_weight
            end, 0),
            0
        ) as weight_with_data
    from version_components
    left join segment_weights
        on
            version_components.config_version = segment_weights.config_version
            and version_components.segment = segment_weights.segment

),

-- One row per component: its raw value, the words the reason shows and its
-- weight. A cross join to the seven names streams, where a union of seven
-- selects would hold every account-day and version in memory at once.
component_values as (

    select
        weighted_versions.account_id,
        weighted_versions.date_day,
        weighted_versions.segment,
        weighted_versions.config_version,
        weighted_versions.is_version_in_effect,
        component_names.component,
        case component_names.component
            when 'usage_trend' then weighted_versions.usage_trend_value
            when 'key_feature_adoption' then weighted_versions.key_feature_adoption_value
            when 'support_load' then weighted_versions.support_load_value
            when 'sentiment' then weighted_versions.sentiment_value
            when 'onboarding' then weighted_versions.onboarding_value
            when 'seat_utilisation' then weighted_versions.seat_utilisation_value
            when 'engagement' then weighted_versions.engagement_value
        end as raw_value,
        case component_names.component
            when 'usage_trend' then weighted_versions.usage_trend_text
            when 'key_feature_adoption' then weighted_versions.key_feature_adoption_text
            when 'support_load' then weighted_versions.support_load_text
            when 'sentiment' then weighted_versions.sentiment_text
            when 'onboarding' then weighted_versions.onboarding_text
            when 'seat_utilisation' then weighted_versions.seat_utilisation_text
            when 'engagement' then weighted_versions.engagement_text
        end as raw_value_text,
        component_names.no_data_reason,
        case component_names.component
            when 'usage_trend' then weighted_versions.usage_trend_weight
            when 'key_feature_adoption' then weighted_versions.key_feature_adoption_weight
            when 'support_load' then weighted_versions.support_load_weight
            when 'sentiment' then weighted_versions.sentiment_weight
            when 'onboarding' then weighted_versions.onboarding_weight
            when 'seat_utilisation' then weighted_versions.seat_utilisation_weight
            when 'engagement' then weighted_versions.engagement_weight
        end as weight,
        weighted_versions.weight_with_data
    from weighted_versions
    cross join component_names

),

-- The band of the raw value (min inclusive, max exclusive, empty = open).
scored_components as (

    select
        component_values.*,
        component_values.raw_value is not null as has_data,
        component_thresholds.points
    from component_values
    left join component_thresholds
        on
            component_values.config_version = component_thresholds.config_version
            and component_values.segment = component_thresholds.segment
            and component_values.component = component_thresholds.component
            and (
                component_thresholds.min_value is null
                or component_values.raw_value >= component_thresholds.min_value
            )
            and (
                component_thresholds.max_value is null
                or component_values.raw_value < component_thresholds.max_value
            )

),

renormalised as (

    select
        *,
        case
            when has_data then weight / weight_with_data
            else 0
        end as effective_weight
    from scored_components

),

final as (

    select
        cast(account_id as {{ dbt.type_bigint() }}) as account_id,
        date_day,
        cast(config_version as {{ dbt.type_string() }}) as config_version,
        is_version_in_effect,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(component as {{ dbt.type_string() }}) as component,
        cast(raw_value as {{ health_double() }}) as raw_value,
        case when has_data then raw_value_text end as raw_value_text,
        has_data,
        case when not has_data then no_data_reason end as exclusion_reason,
        cast(case when has_data then points end as {{ dbt.type_int() }}) as points,
        cast(weight as {{ health_double() }}) as weight,
        cast({{ round_half_up('effective_weight', 6) }} as {{ health_double() }})
            as effective_weight,
        cast(
            {{ round_half_up('case when has_data then points * effective_weight else 0 end', 4) }}
            as {{ health_double() }}
        ) as contribution,
        -- Points the component cost the score: what ranks the reason.
        cast(
            {{ round_half_up(
                'case when has_data then (100 - points) * effective_weight else 0 end', 4
            ) }}
            as {{ health_double() }}
        ) as points_lost,
        '{{ invocation_id }}' as dbt_invocation_id
    from renormalised

)

select * from final
