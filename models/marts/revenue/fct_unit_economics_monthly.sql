{#-
    Company-level unit economics per month: ARPA, logo churn, LTV, CAC and
    CAC payback. Gross margin is var gross_margin. LTV divides by the logo
    churn rate pooled over the trailing three months, because a single month's
    rate swings with a handful of churns (docs/metrics.md).
-#}

with

movements as (

    select * from {{ ref('fct_mrr_movements_monthly') }}

),

account_months as (

    select * from {{ ref('fct_account_mrr_monthly') }}

),

calendar_months as (

    select * from {{ ref('int_calendar_months') }}

),

expenses as (

    select * from {{ ref('stg_finance__sales_marketing_expenses') }}

),

company_months as (

    select
        month_start_date,
        sum(ending_mrr) as mrr,
        sum(starting_logos) as starting_logos,
        sum(new_logos) as new_logos,
        sum(churned_logos) as churned_logos
    from movements
    group by month_start_date

),

-- ARPA divides by paying accounts only: a paused account is a logo but has
-- no revenue.
paying_accounts as (

    select
        month_start_date,
        count(*) as active_logos
    from account_months
    where mrr > 0
    group by month_start_date

),

monthly_expenses as (

    select
        expense_month,
        sum(expense_amount) as sales_marketing_expense
    from expenses
    group by expense_month

),

-- The logo churn rate pooled over the month and the two before it (churned
-- logos over starting logos of the three months), the rate LTV uses.
trailing_churn as (

    select
        month_start_date,
        sum(churned_logos) over (
            order by month_start_date rows between 2 preceding and current row
        ) as t3m_churned_logos,
        sum(starting_logos) over (
            order by month_start_date rows between 2 preceding and current row
        ) as t3m_starting_logos
    from company_months

),

joined as (

    select
        company_months.month_start_date,
        calendar_months.is_current_month,
        coalesce(paying_accounts.active_logos, 0) as active_logos,
        company_months.mrr,
        company_months.starting_logos,
        company_months.new_logos,
        company_months.churned_logos,
        trailing_churn.t3m_churned_logos,
        trailing_churn.t3m_starting_logos,
        monthly_expenses.sales_marketing_expense,
        {{ var('gross_margin') }} as gross_margin
    from company_months
    inner join calendar_months
        on company_months.month_start_date = calendar_months.month_start_date
    inner join trailing_churn
        on company_months.month_start_date = trailing_churn.month_start_date
    left join paying_accounts
        on company_months.month_start_date = paying_accounts.month_start_date
    left join monthly_expenses
        on company_months.month_start_date = monthly_expenses.expense_month

),

ratios as (

    select
        *,
        case when active_logos > 0 then cast(mrr as double) / active_logos end as arpa,
        case
            when starting_logos > 0 then cast(churned_logos as double) / starting_logos
        end as logo_churn_rate,
        case
            when t3m_starting_logos > 0 then cast(t3m_churned_logos as double) / t3m_starting_logos
        end as t3m_logo_churn_rate,
        case
            when new_logos > 0 then cast(sales_marketing_expense as double) / new_logos
        end as cac
    from joined

),

final as (

    select
        cast(month_start_date as date) as month_start_date,
        is_current_month,
        cast(active_logos as {{ dbt.type_int() }}) as active_logos,
        cast(mrr as decimal(18, 2)) as mrr,
        cast(arpa as decimal(18, 2)) as arpa,
        cast(starting_logos as {{ dbt.type_int() }}) as starting_logos,
        cast(new_logos as {{ dbt.type_int() }}) as new_logos,
        cast(churned_logos as {{ dbt.type_int() }}) as churned_logos,
        cast(logo_churn_rate as decimal(18, 6)) as logo_churn_rate,
        cast(t3m_logo_churn_rate as decimal(18, 6)) as t3m_logo_churn_rate,
        cast(gross_margin as decimal(18, 4)) as gross_margin,
        cast(
            case
                when t3m_logo_churn_rate > 0 then arpa * gross_margin / t3m_logo_churn_rate
            end as decimal(18, 2)
        ) as ltv,
        cast(sales_marketing_expense as decimal(18, 2)) as sales_marketing_expense,
        cast(cac as decimal(18, 2)) as cac,
        cast(
            case when arpa * gross_margin > 0 then cac / (arpa * gross_margin) end
            as decimal(18, 2)
        ) as cac_payback_months
    from ratios

)

select * from final
