{#-
    The account MRR bridge. Every row is classified, and on every row
    previous_mrr + new + expansion + reactivation - contraction - churned = mrr.
    Churn is the month after the last month with MRR, as a row with MRR 0.
    A return after at least var reactivation_gap_months months at zero is a
    reactivation; after a shorter spell it is a pause: the drop is booked as
    contraction and the return as expansion, and the account never churned.
    A spell still running at the as-of date stays churn until the account
    returns.
-#}

{%- set gap = var('reactivation_gap_months') | int %}

with

subscription_mrr as (

    select * from {{ ref('int_subscription_mrr_monthly') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

),

months as (

    select * from {{ ref('int_calendar_months') }}

),

-- Revenue of billing customers no rule resolved to an account stays in
-- int_subscription_mrr_monthly (and its warning test), not here.
account_months_with_mrr as (

    select
        account_id,
        month_start_date,
        sum(mrr) as mrr,
        count(*) as active_subscription_count,
        max(case when is_main_plan then product_name end) as plan_name,
        max(case when is_main_plan then billing_interval end) as billing_interval
    from subscription_mrr
    where account_id is not null
    group by account_id, month_start_date

),

account_spans as (

    select
        account_id,
        min(month_start_date) as cohort_month,
        max(month_start_date) as last_active_month
    from account_months_with_mrr
    group by account_id

),

-- Every month from the first with MRR to the one after the last, so a churn
-- is a row and zero months between a churn and a return are rows too.
account_months as (

    select
        account_spans.account_id,
        account_spans.cohort_month,
        months.month_start_date
    from account_spans
    inner join months
        on
            account_spans.cohort_month <= months.month_start_date
            and months.month_start_date
            <= {{ dbt.dateadd('month', 1, 'account_spans.last_active_month') }}

),

filled as (

    select
        account_months.account_id,
        account_months.cohort_month,
        account_months.month_start_date,
        coalesce(account_months_with_mrr.mrr, 0) as mrr,
        coalesce(account_months_with_mrr.active_subscription_count, 0)
            as active_subscription_count,
        account_months_with_mrr.plan_name,
        account_months_with_mrr.billing_interval
    from account_months
    left join account_months_with_mrr
        on
            account_months.account_id = account_months_with_mrr.account_id
            and account_months.month_start_date = account_months_with_mrr.month_start_date

),

-- active_ordinal counts the months with MRR so far, this one included: a run
-- of zero months shares one value, which identifies the spell.
sequenced as (

    select
        *,
        coalesce(
            lag(mrr) over (partition by account_id order by month_start_date), 0
        ) as previous_mrr,
        sum(case when mrr > 0 then 1 else 0 end) over (
            partition by account_id
            order by month_start_date
            rows between unbounded preceding and current row
        ) as active_ordinal,
        sum(case when mrr > 0 then 1 else 0 end) over (
            partition by account_id
        ) as total_active_months
    from filled

),

zero_spells as (

    select
        account_id,
        active_ordinal,
        count(*) as spell_months,
        max(total_active_months) > active_ordinal as has_return
    from sequenced
    where mrr = 0
    group by account_id, active_ordinal

),

-- The main plan of the last month with MRR, carried into zero months.
active_plans as (

    select
        account_id,
        active_ordinal,
        plan_name,
        billing_interval
    from sequenced
    where mrr > 0

),

with_spells as (

    select
        sequenced.*,
        spell_here.spell_months as current_spell_months,
        coalesce(spell_here.has_return, false) as current_spell_has_return,
        spell_before.spell_months as previous_spell_months,
        coalesce(sequenced.plan_name, active_plans.plan_name) as carried_plan_name,
        coalesce(sequenced.billing_interval, active_plans.billing_interval)
            as carried_billing_interval
    from sequenced
    left join zero_spells as spell_here
        on
            sequenced.account_id = spell_here.account_id
            and sequenced.active_ordinal = spell_here.active_ordinal
            and sequenced.mrr = 0
    left join zero_spells as spell_before
        on
            sequenced.account_id = spell_before.account_id
            and sequenced.active_ordinal - 1 = spell_before.active_ordinal
            and sequenced.mrr > 0
    left join active_plans
        on
            sequenced.account_id = active_plans.account_id
            and sequenced.active_ordinal = active_plans.active_ordinal

),

classified as (

    select
        *,
        current_spell_has_return and current_spell_months < {{ gap }} as is_paused,
        case
            when mrr > 0 and previous_mrr = 0 and active_ordinal = 1 then 'new'
            when mrr > 0 and previous_mrr = 0 and previous_spell_months >= {{ gap }}
                then 'reactivation'
            when mrr > 0 and previous_mrr = 0 then 'expansion'
            when
                mrr = 0 and previous_mrr > 0
                and current_spell_has_return and current_spell_months < {{ gap }}
                then 'contraction'
            when mrr = 0 and previous_mrr > 0 then 'churn'
            when mrr > previous_mrr then 'expansion'
            when mrr < previous_mrr then 'contraction'
            else 'unchanged'
        end as movement_type
    from with_spells

),

final as (

    select
        classified.account_id,
        classified.month_start_date,
        coalesce(accounts.segment, 'smb') as segment,
        cast(classified.mrr as decimal(18, 2)) as mrr,
        cast(classified.previous_mrr as decimal(18, 2)) as previous_mrr,
        cast(classified.mrr - classified.previous_mrr as decimal(18, 2)) as mrr_change,
        classified.movement_type,
        cast(
            case when classified.movement_type = 'new' then classified.mrr else 0 end
            as decimal(18, 2)
        ) as new_mrr,
        cast(
            case
                when classified.movement_type = 'expansion'
                    then classified.mrr - classified.previous_mrr
                else 0
            end as decimal(18, 2)
        ) as expansion_mrr,
        cast(
            case when classified.movement_type = 'reactivation' then classified.mrr else 0 end
            as decimal(18, 2)
        ) as reactivation_mrr,
        cast(
            case
                when classified.movement_type = 'contraction'
                    then classified.previous_mrr - classified.mrr
                else 0
            end as decimal(18, 2)
        ) as contraction_mrr,
        cast(
            case
                when classified.movement_type = 'churn' then classified.previous_mrr else 0
            end as decimal(18, 2)
        ) as churned_mrr,
        classified.mrr > 0 as is_active,
        classified.is_paused,
        classified.cohort_month,
        cast(
            {{ dbt.datediff('classified.cohort_month', 'classified.month_start_date', 'month') }}
            as {{ dbt.type_int() }}
        ) as months_since_cohort,
        cast(classified.active_subscription_count as {{ dbt.type_int() }})
            as active_subscription_count,
        classified.carried_plan_name as plan_name,
        classified.carried_billing_interval as billing_interval
    from classified
    left join accounts
        on classified.account_id = accounts.account_id

)

select * from final
