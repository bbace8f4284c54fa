{#-
    Where each account is in the customer journey: the day it reached each
    gate, its current stage (the furthest gate reached, or churned / trial
    ended when it no longer has a live subscription), and whether it is
    stalled: a live account is stalled at the first gate, in journey order,
    that it has not reached later than its segment's expected days (seed
    journey_expectations).
-#}

with

gates as (

    select * from {{ ref('int_account_journey_gates') }}

),

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

),

last_fact_dates as (

    select
        account_id,
        max(date_day) as measured_through_date
    from daily_facts
    group by account_id

),

latest_days as (

    select daily_facts.*
    from daily_facts
    inner join last_fact_dates
        on
            daily_facts.account_id = last_fact_dates.account_id
            and daily_facts.date_day = last_fact_dates.measured_through_date

),

gate_summary as (

    select
        account_id,
        max(case when gate = 'onboarded' then reached_date end) as onboarding_completed_date,
        max(case when gate = 'first_value' then reached_date end) as first_value_date,
        max(case when gate = 'adopted' then reached_date end) as consistent_adoption_date,
        max(case when gate = 'expanded' then reached_date end) as first_expansion_date,
        max(case when gate = 'renewed' then reached_date end) as first_renewal_date,
        max(case when is_reached then gate_order end) as furthest_gate_order,
        min(case when is_overdue then gate_order end) as first_overdue_gate_order
    from gates
    group by account_id

),

furthest_gates as (

    select
        gate_summary.account_id,
        gates.gate as furthest_gate
    from gate_summary
    inner join gates
        on
            gate_summary.account_id = gates.account_id
            and gate_summary.furthest_gate_order = gates.gate_order

),

-- The first overdue gate in journey order is where the account is stuck:
-- later gates usually cannot be reached before it.
overdue_gates as (

    select
        gate_summary.account_id,
        gates.gate as overdue_gate,
        gates.due_date as overdue_gate_due_date,
        gates.days_overdue
    from gate_summary
    inner join gates
        on
            gate_summary.account_id = gates.account_id
            and gate_summary.first_overdue_gate_order = gates.gate_order

),

journeys as (

    select
        latest_days.account_id,
        accounts.account_name,
        latest_days.segment,
        latest_days.owner_id,
        accounts.owner_name,
        latest_days.contract_start_date,
        latest_days.first_paid_date,
        latest_days.date_day as measured_through_date,
        latest_days.days_since_contract_start,
        gate_summary.onboarding_completed_date,
        gate_summary.first_value_date,
        gate_summary.consistent_adoption_date,
        gate_summary.first_expansion_date,
        gate_summary.first_renewal_date,
        furthest_gates.furthest_gate,
        overdue_gates.overdue_gate,
        overdue_gates.overdue_gate_due_date,
        overdue_gates.days_overdue,
        coalesce(latest_days.is_paying or latest_days.is_trialing, false) as is_live
    from latest_days
    left join accounts
        on latest_days.account_id = accounts.account_id
    left join gate_summary
        on latest_days.account_id = gate_summary.account_id
    left join furthest_gates
        on latest_days.account_id = furthest_gates.account_id
    left join overdue_gates
        on latest_days.account_id = overdue_gates.account_id

),

final as (

    select
        account_id,
        account_name,
        segment,
        owner_id,
        owner_name,
        contract_start_date,
        first_paid_date,
        measured_through_date,
        days_since_contract_start,
        onboarding_completed_date,
        first_value_date,
        consistent_adoption_date,
        first_expansion_date,
        first_renewal_date,
        furthest_gate,
        case
            when not is_live and first_paid_date is not null then 'churned'
            when not is_live then 'trial_ended'
            else coalesce(furthest_gate, 'onboarding')
        end as current_stage,
        is_live,
        is_live and overdue_gate is not null as is_stalled,
        case when is_live then overdue_gate end as stalled_at_gate,
        case when is_live then overdue_gate_due_date end as stalled_gate_due_date,
        case when is_live then days_overdue end as stalled_days_overdue
    from journeys

)

select * from final
