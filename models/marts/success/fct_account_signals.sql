with

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

health as (

    select * from {{ ref('fct_account_health_daily') }}

),

signal_rules as (

    select * from {{ ref('signal_rules') }}

),

-- The seed holds one row per rule parameter; one row with a column per
-- parameter lets every rule read its thresholds by name.
thresholds as (

    select
        {{ signal_rule_value('rescue', 'usage_drop_min') }} as rescue_usage_drop_min,
        {{ signal_rule_value('rescue', 'nps_max_score') }} as rescue_nps_max_score,
        {{ signal_rule_value('rescue', 'nps_max_age_days') }} as rescue_nps_max_age_days,
        {{ signal_rule_value('rescue', 'urgent_tickets_30d_min') }}
            as rescue_urgent_tickets_30d_min,
        {{ signal_rule_value('expansion', 'seat_utilisation_min') }}
            as expansion_seat_utilisation_min,
        {{ signal_rule_value('expansion', 'seat_utilisation_days') }}
            as expansion_seat_utilisation_days,
        {{ signal_rule_value('onboarding_stalled', 'key_event_grace_days') }}
            as onboarding_key_event_grace_days,
        {{ signal_rule_value('renewal', 'renewal_window_days') }} as renewal_window_days,
        {{ signal_rule_value('renewal', 'min_billing_term_months') }}
            as renewal_min_billing_term_months,
        {{ signal_rule_value('advocacy', 'green_days') }} as advocacy_green_days,
        {{ signal_rule_value('advocacy', 'nps_min_score') }} as advocacy_nps_min_score,
        {{ signal_rule_value('advocacy', 'nps_max_age_days') }} as advocacy_nps_max_age_days
    from signal_rules

),

-- A usage drop must hold two weeks in a row: the week-over-week change seven
-- days earlier sits beside the day's own.
with_week_before as (

    select
        daily_facts.*,
        week_before.usage_change_wow as usage_change_wow_week_before
    from daily_facts
    left join daily_facts as week_before
        on
            daily_facts.account_id = week_before.account_id
            and week_before.date_day = {{ dbt.dateadd('day', -7, 'daily_facts.date_day') }}

),

-- The day's health band; a day without a score counts as not green.
with_health as (

    select
        with_week_before.*,
        health.health_band
    from with_week_before
    left join health
        on
            with_week_before.account_id = health.account_id
            and with_week_before.date_day = health.date_day

),

-- Where the current runs of days above the seat-utilisation limit and of
-- green days started (the facts have one row per account and day, without
-- gaps, so a run is a stretch of rows).
with_runs as (

    select
        with_health.*,
        thresholds.*,
        {{ run_start_date(
            'with_health.seat_utilisation > thresholds.expansion_seat_utilisation_min',
            'with_health.account_id',
            'with_health.date_day'
        ) }} as seat_utilisation_run_start_date,
        {{ run_start_date(
            "with_health.health_band = 'green'",
            'with_health.account_id',
            'with_health.date_day'
        ) }} as green_run_start_date
    from with_health
    cross join thresholds

),

-- Day counts the rules compare with their thresholds.
day_counts as (

    select
        *,
        {{ days_between('latest_nps_date', 'date_day') }} as nps_age_days,
        {{ days_between('seat_utilisation_run_start_date', 'date_day') }} + 1
            as seat_utilisation_run_days,
        {{ days_between('green_run_start_date', 'date_day') }} + 1 as green_run_days,
        {{ days_between('date_day', 'renewal_date') }} as days_to_renewal
    from with_runs

),

-- Each rule's parts, evaluated as of the end of the day. Changes are rounded
-- to six decimals so a drop of exactly the threshold is not lost to floating
-- point (70 / 100 - 1 is -0.30000000000000004).
evaluated as (

    select
        *,
        {{ round_half_up('usage_change_wow', 6) }} <= -rescue_usage_drop_min
        and {{ round_half_up('usage_change_wow_week_before', 6) }} <= -rescue_usage_drop_min
            as has_usage_drop_two_weeks,
        latest_nps_score <= rescue_nps_max_score
        and nps_age_days <= rescue_nps_max_age_days as has_low_nps,
        urgent_tickets_30d >= rescue_urgent_tickets_30d_min as has_urgent_ticket_spike,
        active_users_7d > contracted_seats as has_more_users_than_seats,
        latest_nps_score >= advocacy_nps_min_score
        and nps_age_days <= advocacy_nps_max_age_days as has_promoter_nps
    from day_counts
    -- Signals describe customers: days after a churn (or before any live
    -- subscription) raise none.
    where is_paying or is_trialing

),

flagged as (

    select
        *,
        coalesce(has_usage_drop_two_weeks and (has_low_nps or has_urgent_ticket_spike), false)
            as is_rescue,
        coalesce(
            seat_utilisation_run_days >= expansion_seat_utilisation_days
            or has_more_users_than_seats,
            false
        ) as is_expansion,
        coalesce(
            days_since_contract_start >= onboarding_key_event_grace_days
            and first_key_event_date is null,
            false
        ) as is_onboarding_stalled,
        coalesce(
            days_to_renewal between 0 and renewal_window_days
            and billing_term_months >= renewal_min_billing_term_months,
            false
        ) as is_renewal,
        coalesce(
            green_run_days >= advocacy_green_days
            and has_promoter_nps
            and first_key_event_date is not null,
            false
        ) as is_advocacy
    from evaluated

),

-- One row per active signal: the rules side by side, unpivoted.
rescue_signals as (

    select
        *,
        'rescue' as signal_type,
        {{ dbt.concat([
            "'events: '",
            "cast(events_7d as " ~ dbt.type_string() ~ ")",
            "' in the last 7 days vs '",
            "cast(events_prev_7d as " ~ dbt.type_string() ~ ")",
            "' in the 7 before ('",
            percent_text('usage_change_wow'),
            "'%), '",
            percent_text('usage_change_wow_week_before'),
            "'% a week earlier'",
            "case when has_low_nps then " ~ dbt.concat([
                "'; NPS '",
                "cast(latest_nps_score as " ~ dbt.type_string() ~ ")",
                "' on '",
                "cast(latest_nps_date as " ~ dbt.type_string() ~ ")",
            ]) ~ " else '' end",
            "case when has_urgent_ticket_spike then " ~ dbt.concat([
                "'; urgent tickets in 30 days: '",
                "cast(urgent_tickets_30d as " ~ dbt.type_string() ~ ")",
            ]) ~ " else '' end",
        ]) }} as evidence_text
    from flagged
    where is_rescue

),

expansion_signals as (

    select
        *,
        'expansion' as signal_type,
        {{ dbt.concat([
            "'seat utilisation '",
            "coalesce(" ~ percent_text('seat_utilisation') ~ ", 'n/a')",
            "'% ('",
            "cast(active_users_7d as " ~ dbt.type_string() ~ ")",
            "' weekly active users / '",
            "coalesce(cast(contracted_seats as " ~ dbt.type_string() ~ "), 'no')",
            "' seats), above the limit for '",
            "cast(seat_utilisation_run_days as " ~ dbt.type_string() ~ ")",
            "' consecutive days'",
        ]) }} as evidence_text
    from flagged
    where is_expansion

),

onboarding_stalled_signals as (

    select
        *,
        'onboarding_stalled' as signal_type,
        {{ dbt.concat([
            "'no key-feature event yet, '",
            "cast(days_since_contract_start as " ~ dbt.type_string() ~ ")",
            "' days after the contract start on '",
            "cast(contract_start_date as " ~ dbt.type_string() ~ ")",
        ]) }} as evidence_text
    from flagged
    where is_onboarding_stalled

),

renewal_signals as (

    select
        *,
        'renewal' as signal_type,
        {{ dbt.concat([
            "'renewal on '",
            "cast(renewal_date as " ~ dbt.type_string() ~ ")",
            "', in '",
            "cast(days_to_renewal as " ~ dbt.type_string() ~ ")",
            "' days'",
        ]) }} as evidence_text
    from flagged
    where is_renewal

),

advocacy_signals as (

    select
        *,
        'advocacy' as signal_type,
        {{ dbt.concat([
            "'health band green for '",
            "cast(green_run_days as " ~ dbt.type_string() ~ ")",
            "' days; NPS '",
            "cast(latest_nps_score as " ~ dbt.type_string() ~ ")",
            "' on '",
            "cast(latest_nps_date as " ~ dbt.type_string() ~ ")",
            "'; first key event on '",
            "cast(first_key_event_date as " ~ dbt.type_string() ~ ")",
        ]) }} as evidence_text
    from flagged
    where is_advocacy

),

signals as (

    select * from rescue_signals
    union all
    select * from expansion_signals
    union all
    select * from onboarding_stalled_signals
    union all
    select * from renewal_signals
    union all
    select * from advocacy_signals

),

final as (

    select
        cast(account_id as {{ dbt.type_bigint() }}) as account_id,
        cast(date_day as date) as date_day,
        cast(signal_type as {{ dbt.type_string() }}) as signal_type,
        cast(evidence_text as {{ dbt.type_string() }}) as evidence_text,
        cast(events_7d as {{ dbt.type_int() }}) as events_7d,
        cast(events_prev_7d as {{ dbt.type_int() }}) as events_prev_7d,
        cast(usage_change_wow as decimal(18, 6)) as usage_change_wow,
        cast(usage_change_wow_week_before as decimal(18, 6)) as usage_change_wow_week_before,
        coalesce(has_usage_drop_two_weeks, false) as has_usage_drop_two_weeks,
        cast(latest_nps_score as {{ dbt.type_int() }}) as latest_nps_score,
        cast(latest_nps_date as date) as latest_nps_date,
        coalesce(has_low_nps, false) as has_low_nps,
        cast(urgent_tickets_30d as {{ dbt.type_int() }}) as urgent_tickets_30d,
        coalesce(has_urgent_ticket_spike, false) as has_urgent_ticket_spike,
        cast(seat_utilisation as decimal(18, 6)) as seat_utilisation,
        cast(seat_utilisation_run_days as {{ dbt.type_int() }}) as seat_utilisation_run_days,
        cast(active_users_7d as {{ dbt.type_int() }}) as active_users_7d,
        cast(contracted_seats as {{ dbt.type_int() }}) as contracted_seats,
        coalesce(has_more_users_than_seats, false) as has_more_users_than_seats,
        cast(contract_start_date as date) as contract_start_date,
        cast(days_since_contract_start as {{ dbt.type_int() }}) as days_since_contract_start,
        cast(first_key_event_date as date) as first_key_event_date,
        cast(renewal_date as date) as renewal_date,
        cast(days_to_renewal as {{ dbt.type_int() }}) as days_to_renewal,
        cast(health_band as {{ dbt.type_string() }}) as health_band,
        cast(green_run_days as {{ dbt.type_int() }}) as green_run_days,
        coalesce(has_promoter_nps, false) as has_promoter_nps
    from signals

)

select * from final
