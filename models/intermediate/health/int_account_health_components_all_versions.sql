{#-
    Every paying account-day scored under every configuration version: one row
    per account, day, version and component. The marts keep the version in
    effect on each day (is_version_in_effect); the other versions are here so
    history can be recomputed and compared under any of them (the trend of the
    daily score compares days under the same version).
-#}

with

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

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

facts_by_version as (

    select
        paying_days.account_id,
        paying_days.date_day,
        paying_days.segment,
        paying_days.days_since_contract_start,
        paying_days.usage_change_wow,
        paying_days.key_feature_adoption,
        paying_days.key_features_used_28d,
        paying_days.open_urgent_high_tickets,
        paying_days.urgent_tickets_30d,
        paying_days.latest_nps_score,
        paying_days.latest_nps_date,
        paying_days.csat_score_90d,
        paying_days.onboarding_steps_completed,
        paying_days.seat_utilisation,
        paying_days.engagements_30d,
        version_ranges.config_version,
        version_ranges.nps_lookback_days,
        version_ranges.onboarding_window_days,
        coalesce(onboarding_expectations.expected_steps, 0) as expected_onboarding_steps,
        coalesce(onboarding_totals.total_steps, 0) as total_onboarding_steps,
        coalesce(
            paying_days.date_day >= version_ranges.valid_from_date
            and (
                version_ranges.valid_to_date is null
                or paying_days.date_day < version_ranges.valid_to_date
            ),
            false
        ) as is_version_in_effect
    from paying_days
    cross join version_ranges
    left join onboarding_totals
        on version_ranges.config_version = onboarding_totals.config_version
    left join onboarding_expectations
        on
            version_ranges.config_version = onboarding_expectations.config_version
            and paying_days.days_since_contract_start >= onboarding_expectations.from_day
            and (
                onboarding_expectations.to_day is null
                or paying_days.days_since_contract_start < onboarding_expectations.to_day
            )

),

-- One row per component: its raw value (rounded to 4 decimals so a band edge
-- such as -0.30 is not missed by floating-point noise), the words the reason
-- shows, and why it is left out when it has no value.
component_values as (

    select
        account_id,
        date_day,
        segment,
        config_version,
        is_version_in_effect,
        'usage_trend' as component,
        round(usage_change_wow, 4) as raw_value,
        {{ dbt.concat([
            "'usage '",
            "case when usage_change_wow >= 0 then '+' else '' end",
            "cast(cast(round(usage_change_wow * 100) as " ~ dbt.type_int() ~ ") as "
                ~ dbt.type_string() ~ ")",
            "'% WoW'",
        ]) }} as raw_value_text,
        'no product events in the previous 7 days' as no_data_reason
    from facts_by_version

    union all

    select
        account_id,
        date_day,
        segment,
        config_version,
        is_version_in_effect,
        'key_feature_adoption' as component,
        round(key_feature_adoption, 4) as raw_value,
        {{ dbt.concat([
            "cast(coalesce(key_features_used_28d, 0) as " ~ dbt.type_string() ~ ")",
            "' key features used in 28d'",
        ]) }} as raw_value_text,
        'no key-feature data' as no_data_reason
    from facts_by_version

    union all

    select
        account_id,
        date_day,
        segment,
        config_version,
        is_version_in_effect,
        'support_load' as component,
        case
            when open_urgent_high_tickets is not null or urgent_tickets_30d is not null
                then coalesce(open_urgent_high_tickets, 0) + coalesce(urgent_tickets_30d, 0)
        end as raw_value,
        {{ dbt.concat([
            "cast(coalesce(open_urgent_high_tickets, 0) as " ~ dbt.type_string() ~ ")",
            "' urgent/high tickets open, '",
            "cast(coalesce(urgent_tickets_30d, 0) as " ~ dbt.type_string() ~ ")",
            "' urgent in 30d'",
        ]) }} as raw_value_text,
        'no support data' as no_data_reason
    from facts_by_version

    union all

    -- A recent NPS answer (0-10) wins; otherwise the 90-day CSAT average
    -- (1-5) is put on the same 0-10 scale: (csat - 1) * 2.5.
    select
        account_id,
        date_day,
        segment,
        config_version,
        is_version_in_effect,
        'sentiment' as component,
        case
            when
                latest_nps_score is not null
                and {{ dbt.datediff('latest_nps_date', 'date_day', 'day') }}
                < nps_lookback_days
                then latest_nps_score
            when csat_score_90d is not null
                then round((csat_score_90d - 1) * 2.5, 4)
        end as raw_value,
        case
            when
                latest_nps_score is not null
                and {{ dbt.datediff('latest_nps_date', 'date_day', 'day') }}
                < nps_lookback_days
                then {{ dbt.concat([
                    "'NPS '",
                    "cast(latest_nps_score as " ~ dbt.type_string() ~ ")",
                ]) }}
            when csat_score_90d is not null
                then {{ dbt.concat([
                    "'CSAT '",
                    "cast(round(csat_score_90d, 1) as " ~ dbt.type_string() ~ ")",
                ]) }}
        end as raw_value_text,
        'no recent NPS or CSAT answer' as no_data_reason
    from facts_by_version

    union all

    -- Milestones reached minus milestones expected by this day (0 or more is
    -- on track). Counts during the onboarding window, then only while
    -- onboarding is incomplete.
    select
        account_id,
        date_day,
        segment,
        config_version,
        is_version_in_effect,
        'onboarding' as component,
        case
            when
                days_since_contract_start < onboarding_window_days
                or coalesce(onboarding_steps_completed, 0) < total_onboarding_steps
                then coalesce(onboarding_steps_completed, 0) - expected_onboarding_steps
        end as raw_value,
        {{ dbt.concat([
            "'onboarding '",
            "cast(coalesce(onboarding_steps_completed, 0) as " ~ dbt.type_string() ~ ")",
            "' of '",
            "cast(expected_onboarding_steps as " ~ dbt.type_string() ~ ")",
            "' expected steps'",
        ]) }} as raw_value_text,
        'onboarding complete after the onboarding window' as no_data_reason
    from facts_by_version

    union all

    select
        account_id,
        date_day,
        segment,
        config_version,
        is_version_in_effect,
        'seat_utilisation' as component,
        round(seat_utilisation, 4) as raw_value,
        {{ dbt.concat([
            "'seats '",
            "cast(cast(round(seat_utilisation * 100) as " ~ dbt.type_int() ~ ") as "
                ~ dbt.type_string() ~ ")",
            "'% used'",
        ]) }} as raw_value_text,
        'no contracted seats' as no_data_reason
    from facts_by_version

    union all

    select
        account_id,
        date_day,
        segment,
        config_version,
        is_version_in_effect,
        'engagement' as component,
        engagements_30d as raw_value,
        {{ dbt.concat([
            "cast(engagements_30d as " ~ dbt.type_string() ~ ")",
            "' CRM touches in 30d'",
        ]) }} as raw_value_text,
        'no CRM engagement data' as no_data_reason
    from facts_by_version

),

-- The band of the raw value (min inclusive, max exclusive, empty = open).
scored_components as (

    select
        component_values.*,
        component_values.raw_value is not null as has_data,
        component_weights.weight,
        component_thresholds.points
    from component_values
    left join component_weights
        on
            component_values.config_version = component_weights.config_version
            and component_values.segment = component_weights.segment
            and component_values.component = component_weights.component
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

-- Components without data are left out and the others' weights scaled up so
-- that the weights used still sum to 1.
renormalised as (

    select
        *,
        case
            when has_data
                then weight / nullif(sum(case when has_data then weight end) over (
                    partition by account_id, date_day, config_version
                ), 0)
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
        cast(round(effective_weight, 6) as {{ health_double() }}) as effective_weight,
        cast(
            round(case when has_data then points * effective_weight else 0 end, 4)
            as {{ health_double() }}
        ) as contribution,
        -- Points the component cost the score: what ranks the reason.
        cast(
            round(case when has_data then (100 - points) * effective_weight else 0 end, 4)
            as {{ health_double() }}
        ) as points_lost
    from renormalised

)

select * from final
