{#-
    The customer journey as gates: for every account and gate of seed
    journey_expectations, the day the account reached it (if it has), the day
    it was expected by, and whether it is overdue. A gate is on time when
    reached on or before day expected_days after the contract start, and
    overdue when it is still not reached on a later day.
-#}

with

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

adoption_weeks as (

    select * from {{ ref('int_account_adoption_weeks') }}

),

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

expectations as (

    select * from {{ ref('journey_expectations') }}

),

last_fact_dates as (

    select
        account_id,
        max(date_day) as measured_through_date
    from daily_facts
    group by account_id

),

-- The last day's facts carry the dates reached so far (onboarding, first key
-- event, first paid day), since every value looks back from its day.
latest_days as (

    select
        daily_facts.account_id,
        daily_facts.segment,
        daily_facts.contract_start_date,
        daily_facts.first_paid_date,
        daily_facts.onboarding_completed_date,
        daily_facts.first_key_event_date,
        daily_facts.days_since_contract_start,
        last_fact_dates.measured_through_date,
        cast(
            {{ dbt.dateadd('month', 12, 'daily_facts.first_paid_date') }} as date
        ) as renewal_due_date
    from daily_facts
    inner join last_fact_dates
        on
            daily_facts.account_id = last_fact_dates.account_id
            and daily_facts.date_day = last_fact_dates.measured_through_date

),

adoptions as (

    select
        account_id,
        min(first_key_feature_date) as adopted_date
    from adoption_weeks
    where completes_adoption
    group by account_id

),

-- MRR is read at each month's end (docs/decisions.md, 8), so an expansion
-- is dated at the end of its month, or the last measured day if that is
-- sooner.
first_expansions as (

    select
        account_id,
        min(month_start_date) as expansion_month
    from account_months
    where movement_type = 'expansion'
    group by account_id

),

-- The first renewal is reached when the account still pays twelve months
-- after its first paid day: the first annual invoice, or month 13 of a
-- monthly plan.
renewals as (

    select
        latest_days.account_id,
        latest_days.renewal_due_date as renewed_date
    from latest_days
    inner join daily_facts
        on
            latest_days.account_id = daily_facts.account_id
            and latest_days.renewal_due_date = daily_facts.date_day
    where daily_facts.is_paying

),

gate_dates as (

    select
        account_id,
        'onboarded' as gate,
        onboarding_completed_date as reached_date
    from latest_days

    union all

    select
        account_id,
        'first_value' as gate,
        first_key_event_date as reached_date
    from latest_days

    union all

    select
        latest_days.account_id,
        'adopted' as gate,
        adoptions.adopted_date as reached_date
    from latest_days
    left join adoptions
        on latest_days.account_id = adoptions.account_id

    union all

    select
        latest_days.account_id,
        'expanded' as gate,
        case
            when first_expansions.expansion_month is not null
                then least(
                    cast(
                        {{ dbt.last_day('first_expansions.expansion_month', 'month') }} as date
                    ),
                    latest_days.measured_through_date
                )
        end as reached_date
    from latest_days
    left join first_expansions
        on latest_days.account_id = first_expansions.account_id

    union all

    select
        latest_days.account_id,
        'renewed' as gate,
        renewals.renewed_date as reached_date
    from latest_days
    left join renewals
        on latest_days.account_id = renewals.account_id

),

gates as (

    select
        latest_days.account_id,
        latest_days.segment,
        latest_days.contract_start_date,
        latest_days.measured_through_date,
        latest_days.days_since_contract_start,
        expectations.gate,
        expectations.gate_order,
        expectations.expected_days,
        gate_dates.reached_date,
        {{ days_between('latest_days.contract_start_date', 'gate_dates.reached_date') }}
            as days_to_reach,
        cast(
            {{ dbt.dateadd(
                'day', 'expectations.expected_days', 'latest_days.contract_start_date'
            ) }} as date
        ) as due_date
    from gate_dates
    inner join latest_days
        on gate_dates.account_id = latest_days.account_id
    inner join expectations
        on
            latest_days.segment = expectations.segment
            and gate_dates.gate = expectations.gate

),

final as (

    select
        account_id,
        gate,
        gate_order,
        segment,
        contract_start_date,
        measured_through_date,
        expected_days,
        due_date,
        reached_date,
        days_to_reach,
        reached_date is not null as is_reached,
        case
            when expected_days is null then null
            when reached_date is not null then days_to_reach <= expected_days
            when days_since_contract_start > expected_days then false
        end as is_reached_on_time,
        (
            reached_date is null
            and expected_days is not null
            and days_since_contract_start > expected_days
        ) as is_overdue,
        case
            when
                reached_date is null
                and expected_days is not null
                and days_since_contract_start > expected_days
                then days_since_contract_start - expected_days
        end as days_overdue
    from gates

)

select * from final
