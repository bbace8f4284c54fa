{#-
    Time to value per account: days from the contract start (trial included)
    to first value (the first key-feature event) and to full value
    (consistent adoption, docs/journey.md). An account that has not reached
    a gate yet has no days for it; days_observed says how long it has had.
-#}

with

gates as (

    select * from {{ ref('int_account_journey_gates') }}

),

value_gates as (

    select
        account_id,
        max(segment) as segment,
        max(contract_start_date) as contract_start_date,
        max(measured_through_date) as measured_through_date,
        max(case when gate = 'first_value' then reached_date end) as first_value_date,
        max(case when gate = 'adopted' then reached_date end) as full_value_date
    from gates
    group by account_id

),

final as (

    select
        account_id,
        segment,
        cast({{ dbt.date_trunc('month', 'contract_start_date') }} as date) as cohort_month,
        contract_start_date,
        first_value_date,
        full_value_date,
        {{ days_between('contract_start_date', 'first_value_date') }}
            as days_to_first_value,
        {{ days_between('contract_start_date', 'full_value_date') }}
            as days_to_full_value,
        {{ days_between('contract_start_date', 'measured_through_date') }}
            as days_observed,
        first_value_date is not null as has_first_value,
        full_value_date is not null as has_full_value
    from value_gates

)

select * from final
