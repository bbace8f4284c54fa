{#-
    MRR of each subscription at each month's snapshot (see int_calendar_months),
    following the common definition (docs/metrics.md): active subscriptions,
    past-due ones while var mrr_includes_past_due is true; trials, incomplete,
    unpaid and ended subscriptions excluded; licensed recurring prices only (no
    one-time or metered charges, no free plans); seats × unit price, normalised
    to a month; forever coupons applied. Only months with MRR above zero are
    kept.
-#}

{%- set churn_timing = revenue_var('churn_timing', ['period_end', 'cancellation']) %}

with

history as (

    select * from {{ ref('stg_stripe__subscription_history') }}

),

items as (

    select * from {{ ref('stg_stripe__subscription_items') }}

),

prices as (

    select * from {{ ref('stg_stripe__prices') }}

),

products as (

    select * from {{ ref('stg_stripe__products') }}

),

discounts as (

    select * from {{ ref('stg_stripe__discounts') }}

),

coupons as (

    select * from {{ ref('stg_stripe__coupons') }}

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

months as (

    select * from {{ ref('int_calendar_months') }}

),

-- The version of each subscription in effect just before each snapshot.
versions_at_snapshot as (

    select
        months.month_start_date,
        months.snapshot_at,
        history.subscription_id,
        history.customer_id,
        history.status,
        history.seat_quantity,
        history.is_cancel_at_period_end,
        history.canceled_at
    from history
    inner join months
        on
            history.valid_from_at < months.snapshot_at
            and history.valid_to_at >= months.snapshot_at

),

counted_versions as (

    select *
    from versions_at_snapshot
    where
        (
            status = 'active'
            {%- if var('mrr_includes_past_due') %}
                or status = 'past_due'
            {%- endif %}
        )
    {%- if churn_timing == 'cancellation' %}
        -- Churn timed at the request: a subscription set to end no longer counts.
        and not is_cancel_at_period_end
        and canceled_at is null
        {%- endif %}

),

-- Stripe keeps a subscription's seats on the subscription in history mode and
-- on the item only as of the last sync; a single-item subscription takes its
-- seats from the version, a multi-item one from each item.
item_counts as (

    select
        subscription_id,
        count(*) as item_count
    from items
    group by subscription_id

),

recurring_items as (

    select
        items.subscription_id,
        items.subscription_item_id,
        items.quantity as item_quantity,
        item_counts.item_count,
        prices.unit_amount,
        prices.currency,
        prices.billing_interval,
        {{ monthly_price_factor('prices.billing_interval', 'prices.billing_interval_count') }}
            as monthly_factor,
        products.product_name
    from items
    inner join item_counts
        on items.subscription_id = item_counts.subscription_id
    inner join prices
        on items.price_id = prices.price_id
    left join products
        on prices.product_id = products.product_id
    where
        prices.price_type = 'recurring'
        and coalesce(prices.usage_type, 'licensed') = 'licensed'
        and prices.unit_amount > 0

),

item_mrr as (

    select
        counted_versions.month_start_date,
        counted_versions.snapshot_at,
        counted_versions.subscription_id,
        counted_versions.customer_id,
        recurring_items.product_name,
        recurring_items.billing_interval,
        recurring_items.monthly_factor,
        recurring_items.unit_amount
        * case
            when recurring_items.item_count = 1
                then coalesce(counted_versions.seat_quantity, recurring_items.item_quantity)
            else recurring_items.item_quantity
        end
        * recurring_items.monthly_factor as gross_item_mrr
    from counted_versions
    inner join recurring_items
        on counted_versions.subscription_id = recurring_items.subscription_id

),

subscription_gross as (

    select
        month_start_date,
        snapshot_at,
        subscription_id,
        customer_id,
        max(product_name) as product_name,
        max(billing_interval) as billing_interval,
        max(monthly_factor) as monthly_factor,
        sum(gross_item_mrr) as gross_mrr
    from item_mrr
    group by month_start_date, snapshot_at, subscription_id, customer_id

),

-- Only a forever coupon is a lasting price change; once and repeating coupons
-- are promotions and leave MRR at list price.
forever_discounts as (

    select
        discounts.discount_id,
        discounts.subscription_id,
        discounts.customer_id,
        discounts.starts_at,
        discounts.ends_at,
        coalesce(coupons.percent_off, 0) as percent_off,
        coalesce(coupons.amount_off, 0) as amount_off
    from discounts
    inner join coupons
        on discounts.coupon_id = coupons.coupon_id
    where coupons.duration = 'forever'

),

-- A subscription-level discount wins over a customer-level one.
applicable_discounts as (

    select
        subscription_gross.month_start_date,
        subscription_gross.subscription_id,
        forever_discounts.percent_off,
        forever_discounts.amount_off,
        row_number() over (
            partition by subscription_gross.month_start_date, subscription_gross.subscription_id
            order by
                case when forever_discounts.subscription_id is not null then 0 else 1 end,
                forever_discounts.starts_at desc,
                forever_discounts.discount_id asc
        ) as discount_rank
    from subscription_gross
    inner join forever_discounts
        on (
            subscription_gross.subscription_id = forever_discounts.subscription_id
            or (
                forever_discounts.subscription_id is null
                and subscription_gross.customer_id = forever_discounts.customer_id
            )
        )
        and subscription_gross.snapshot_at > forever_discounts.starts_at
        and (
            forever_discounts.ends_at is null
            or subscription_gross.snapshot_at <= forever_discounts.ends_at
        )

),

discounted as (

    select
        subscription_gross.*,
        coalesce(applicable_discounts.percent_off, 0) as discount_percent_off,
        -- amount_off is per billing period, so it is normalised like the price.
        coalesce(applicable_discounts.amount_off, 0) * subscription_gross.monthly_factor
            as discount_monthly_amount
    from subscription_gross
    left join applicable_discounts
        on
            subscription_gross.month_start_date = applicable_discounts.month_start_date
            and subscription_gross.subscription_id = applicable_discounts.subscription_id
            and applicable_discounts.discount_rank = 1

),

net as (

    select
        month_start_date,
        subscription_id,
        customer_id,
        product_name,
        billing_interval,
        cast(
            case
                when gross_mrr * (1 - discount_percent_off / 100) - discount_monthly_amount > 0
                    then gross_mrr * (1 - discount_percent_off / 100) - discount_monthly_amount
                else 0
            end as decimal(18, 2)
        ) as mrr,
        cast(gross_mrr as decimal(18, 2)) as list_mrr
    from discounted

),

attributed as (

    select
        net.*,
        identity.account_id
    from net
    left join identity
        on
            identity.source_system = 'stripe'
            and net.customer_id = identity.source_record_id

),

final as (

    select
        subscription_id,
        month_start_date,
        customer_id,
        account_id,
        product_name,
        billing_interval,
        mrr,
        list_mrr,
        -- The account's largest subscription that month is its main plan.
        row_number() over (
            partition by
                coalesce(cast(account_id as {{ dbt.type_string() }}), customer_id),
                month_start_date
            order by mrr desc, subscription_id asc
        ) = 1 as is_main_plan
    from attributed
    where mrr > 0

)

select * from final
