{#-
    Success plans of live accounts (paying or in trial on the last measured
    day) and how far each has come: the plans a CSM agreed (seed
    success_plans) or, for an account without one, its segment's default
    plans (seed success_plan_templates). The baseline is the metric on day
    30 of the contract (or the one the CSM recorded), the current value the
    metric on the last measured day. Progress is expected to be linear from
    the baseline day to the target date: a plan is on track while its
    progress share is at least the share of that time gone.
-#}

{%- set baseline_day = var('success_plan_baseline_day', 30) | int %}

{%- set metric_value -%}
    case account_plans.target_metric
        when 'active_users_7d' then cast(daily_facts.active_users_7d as double)
        when 'key_feature_adoption' then cast(daily_facts.key_feature_adoption as double)
        when 'seat_utilisation' then cast(daily_facts.seat_utilisation as double)
    end
{%- endset %}

with

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

agreed_plans as (

    select * from {{ ref('success_plans') }}

),

plan_templates as (

    select * from {{ ref('success_plan_templates') }}

),

last_fact_dates as (

    select
        account_id,
        max(date_day) as measured_through_date
    from daily_facts
    group by account_id

),

live_accounts as (

    select
        daily_facts.account_id,
        daily_facts.segment,
        daily_facts.owner_id,
        daily_facts.contract_start_date,
        daily_facts.date_day as measured_through_date
    from daily_facts
    inner join last_fact_dates
        on
            daily_facts.account_id = last_fact_dates.account_id
            and daily_facts.date_day = last_fact_dates.measured_through_date
    where daily_facts.is_paying or daily_facts.is_trialing

),

accounts_with_agreed_plans as (

    select distinct account_id
    from agreed_plans

),

csm_plans as (

    select
        agreed_plans.plan_id,
        agreed_plans.account_id,
        'csm' as plan_source,
        agreed_plans.objective,
        agreed_plans.target_metric,
        cast(agreed_plans.baseline_value as double) as agreed_baseline_value,
        cast(agreed_plans.target_value as double) as fixed_target_value,
        cast(null as double) as target_growth_share,
        agreed_plans.target_date
    from agreed_plans
    inner join live_accounts
        on agreed_plans.account_id = live_accounts.account_id

),

-- Every live account without a plan of its own gets its segment's defaults.
default_plans as (

    select
        {{ dbt.concat([
            dbt.cast('live_accounts.account_id', dbt.type_string()),
            "'-'",
            'plan_templates.plan_template_id',
        ]) }} as plan_id,
        live_accounts.account_id,
        'segment_default' as plan_source,
        plan_templates.objective,
        plan_templates.target_metric,
        cast(null as double) as agreed_baseline_value,
        cast(plan_templates.target_value as double) as fixed_target_value,
        cast(plan_templates.target_growth_share as double) as target_growth_share,
        cast(
            {{ dbt.dateadd(
                'day', 'plan_templates.target_days', 'live_accounts.contract_start_date'
            ) }} as date
        ) as target_date
    from live_accounts
    inner join plan_templates
        on live_accounts.segment = plan_templates.segment
    left join accounts_with_agreed_plans
        on live_accounts.account_id = accounts_with_agreed_plans.account_id
    where accounts_with_agreed_plans.account_id is null

),

all_plans as (

    select * from csm_plans
    union all
    select * from default_plans

),

dated_plans as (

    select
        all_plans.*,
        live_accounts.segment,
        live_accounts.owner_id,
        live_accounts.contract_start_date,
        live_accounts.measured_through_date,
        cast(
            {{ dbt.dateadd('day', baseline_day, 'live_accounts.contract_start_date') }} as date
        ) as baseline_date
    from all_plans
    inner join live_accounts
        on all_plans.account_id = live_accounts.account_id

),

measured_baselines as (

    select
        account_plans.plan_id,
        {{ metric_value }} as measured_baseline_value
    from dated_plans as account_plans
    inner join daily_facts
        on
            account_plans.account_id = daily_facts.account_id
            and account_plans.baseline_date = daily_facts.date_day

),

current_values as (

    select
        account_plans.plan_id,
        {{ metric_value }} as current_value
    from dated_plans as account_plans
    inner join daily_facts
        on
            account_plans.account_id = daily_facts.account_id
            and account_plans.measured_through_date = daily_facts.date_day

),

valued_plans as (

    select
        dated_plans.*,
        current_values.current_value,
        coalesce(
            dated_plans.agreed_baseline_value, measured_baselines.measured_baseline_value
        ) as baseline_value
    from dated_plans
    left join measured_baselines
        on dated_plans.plan_id = measured_baselines.plan_id
    left join current_values
        on dated_plans.plan_id = current_values.plan_id

),

targeted_plans as (

    select
        *,
        coalesce(fixed_target_value, baseline_value * (1 + target_growth_share))
            as target_value
    from valued_plans

),

-- Progress runs from the baseline (0) to the target (1), bounded; a target
-- at or below the baseline counts as done while the metric stays there.
progressed_plans as (

    select
        *,
        case
            when
                current_value is null or baseline_value is null or target_value is null
                then null
            when target_value <= baseline_value
                then case when current_value >= target_value then 1.0 else 0.0 end
            else greatest(
                0.0,
                least(1.0, (current_value - baseline_value) / (target_value - baseline_value))
            )
        end as progress_share,
        -- Double on every engine: Spark keeps 1.0 * x / y as a decimal.
        cast(
            case
                when target_date <= baseline_date then 1.0
                else greatest(
                    0.0,
                    least(
                        1.0,
                        1.0 * {{ days_between('baseline_date', 'measured_through_date') }}
                        / {{ days_between('baseline_date', 'target_date') }}
                    )
                )
            end as double
        ) as time_elapsed_share
    from targeted_plans

),

final as (

    select
        plan_id,
        account_id,
        segment,
        owner_id,
        plan_source,
        objective,
        target_metric,
        contract_start_date,
        baseline_date,
        baseline_value,
        measured_through_date,
        current_value,
        target_value,
        target_date,
        progress_share,
        time_elapsed_share,
        case
            when current_value is not null and current_value >= target_value then 'achieved'
            when measured_through_date < baseline_date then 'baselining'
            when measured_through_date >= target_date then 'missed'
            when coalesce(progress_share, 0) >= time_elapsed_share then 'on_track'
            else 'at_risk'
        end as status
    from progressed_plans

)

select * from final
