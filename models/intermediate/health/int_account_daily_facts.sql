{#-
    One row per account per day from its contract start to the day before the
    as-of date, every value read at the end of that day and looking back only.
    Billing state comes from the Stripe subscription version in effect at the
    day's end (the same reading as int_subscription_mrr_monthly, one instant
    per day); usage from int_account_usage_daily; support, survey and CRM
    activity from their staging models through the account identity.
    Incremental by day (macros/incremental.sql): every value of a day is read
    from that day's inputs, so a run builds only the days from rebuild_from
    on; the one account-level first, the first paid day, is carried over from
    the days already built.
-#}

{{ config(**account_day_config()) }}

{%- set rebuild_from = account_days_rebuild_from(ref('int_account_usage_daily')) -%}

with

identity as (

    select * from {{ ref('int_account_identity') }}

),

accounts as (

    select * from {{ ref('int_accounts_segmented') }}

),

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

usage as (

    select * from {{ ref('int_account_usage_daily') }}

),

tickets as (

    select * from {{ ref('stg_zendesk__tickets') }}

),

survey_responses as (

    select * from {{ ref('stg_delighted__survey_responses') }}

),

engagements as (

    select * from {{ ref('stg_hubspot__engagements') }}

),

engagement_companies as (

    select * from {{ ref('stg_hubspot__engagement_companies') }}

),

engagement_meetings as (

    select * from {{ ref('stg_hubspot__engagement_meetings') }}

),

spine as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('calendar_start_date') ~ "' as date)",
        as_of_date()
    ) }}

),

calendar_days as (

    select
        cast(date_day as date) as date_day,
        -- The instant the day is read at: midnight at its end.
        cast({{ dbt.dateadd('day', 1, 'date_day') }} as {{ dbt.type_timestamp() }})
            as day_end_at
    from spine
    where {{ account_day_filter('cast(date_day as date)', rebuild_from) }}

),

billing_customers as (

    select
        source_record_id as customer_id,
        account_id
    from identity
    where
        source_system = 'stripe'
        and account_id is not null

),

account_subscriptions as (

    select
        billing_customers.account_id,
        history.*
    from history
    inner join billing_customers
        on history.customer_id = billing_customers.customer_id

),

-- The contract starts when the first subscription does (Stripe's start date
-- is the trial start for a subscription that began with a trial).
contract_starts as (

    select
        account_id,
        cast(min(coalesce(trial_start_at, started_at)) as date) as contract_start_date
    from account_subscriptions
    group by account_id

),

account_days as (

    select
        contract_starts.account_id,
        contract_starts.contract_start_date,
        calendar_days.date_day,
        calendar_days.day_end_at
    from contract_starts
    inner join calendar_days
        on contract_starts.contract_start_date <= calendar_days.date_day

),

-- Price per seat per month of each subscription, used only to rank an
-- account's live subscriptions: the largest is its main plan.
subscription_prices as (

    select
        items.subscription_id,
        max(products.product_name) as product_name,
        sum(
            prices.unit_amount
            * {{ monthly_price_factor('prices.billing_interval', 'prices.billing_interval_count') }}
        ) as monthly_seat_price,
        -- Months between two billings: a renewal is a negotiation only for
        -- long terms, and the renewal playbook reads this.
        max(
            1.0 / {{ monthly_price_factor(
                'prices.billing_interval', 'prices.billing_interval_count'
            ) }}
        ) as billing_term_months
    from items
    inner join prices
        on items.price_id = prices.price_id
    left join products
        on prices.product_id = products.product_id
    where prices.price_type = 'recurring'
    group by items.subscription_id

),

-- Live subscriptions at each day's end: the version in effect at that
-- instant, in a status that gives the customer the product.
live_versions as (

    select
        account_days.account_id,
        account_days.date_day,
        account_subscriptions.subscription_id,
        account_subscriptions.status,
        account_subscriptions.seat_quantity,
        account_subscriptions.current_period_end_at,
        account_subscriptions.is_cancel_at_period_end,
        account_subscriptions.cancel_at,
        subscription_prices.product_name,
        subscription_prices.billing_term_months,
        coalesce(subscription_prices.monthly_seat_price, 0)
        * coalesce(account_subscriptions.seat_quantity, 0) as monthly_list_amount
    from account_days
    inner join account_subscriptions
        on
            account_days.account_id = account_subscriptions.account_id
            and account_days.day_end_at > account_subscriptions.valid_from_at
            and account_days.day_end_at <= account_subscriptions.valid_to_at
    left join subscription_prices
        on account_subscriptions.subscription_id = subscription_prices.subscription_id
    where account_subscriptions.status in ('active', 'past_due', 'trialing')

),

ranked_versions as (

    select
        *,
        row_number() over (
            partition by account_id, date_day
            order by monthly_list_amount desc, seat_quantity desc, subscription_id asc
        ) as size_rank
    from live_versions

),

billing_days as (

    select
        account_id,
        date_day,
        max(case when status in ('active', 'past_due') then 1 else 0 end) as has_paying,
        max(case when status = 'trialing' then 1 else 0 end) as has_trialing,
        max(case when size_rank = 1 then seat_quantity end) as contracted_seats,
        max(case when size_rank = 1 then product_name end) as plan_name,
        max(case when size_rank = 1 then billing_term_months end) as billing_term_months,
        max(
            case
                when
                    size_rank = 1
                    and not is_cancel_at_period_end
                    and cancel_at is null
                    then cast(current_period_end_at as date)
            end
        ) as renewal_date
    from ranked_versions
    group by account_id, date_day

),

rebuilt_first_paid_dates as (

    select
        account_id,
        min(date_day) as first_paid_date
    from billing_days
    where has_paying = 1
    group by account_id

),

-- A first paid day before this run's days is on the rows already built.
known_first_paid_dates as (

    select
        account_id,
        first_paid_date
    from rebuilt_first_paid_dates
    {%- if rebuild_from is not none %}

    union all

    select
        account_id,
        first_paid_date
    from {{ this }}
    where
        date_day < cast('{{ rebuild_from }}' as date)
        and first_paid_date is not null
    {%- endif %}

),

first_paid_dates as (

    select
        account_id,
        min(first_paid_date) as first_paid_date
    from known_first_paid_dates
    group by account_id

),

support_organizations as (

    select
        source_record_id as organization_key,
        account_id
    from identity
    where
        source_system = 'zendesk'
        and account_id is not null

),

-- Zendesk gives no solved time: a solved or closed ticket counts as open
-- until its last update, any other ticket until now.
ticket_spans as (

    select
        support_organizations.account_id,
        tickets.ticket_id,
        tickets.priority,
        tickets.is_urgent_or_high,
        cast(tickets.created_at as date) as created_date,
        case
            when tickets.status in ('solved', 'closed') then cast(tickets.updated_at as date)
            else cast('9999-12-31' as date)
        end as closed_date
    from tickets
    inner join support_organizations
        on
            cast(tickets.organization_id as {{ dbt.type_string() }})
            = support_organizations.organization_key

),

open_tickets as (

    select
        account_days.account_id,
        account_days.date_day,
        count(*) as open_tickets,
        cast(
            sum(case when ticket_spans.is_urgent_or_high then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as open_urgent_high_tickets
    from account_days
    inner join ticket_spans
        on
            account_days.account_id = ticket_spans.account_id
            and account_days.date_day >= ticket_spans.created_date
            and account_days.date_day < ticket_spans.closed_date
    group by account_days.account_id, account_days.date_day

),

urgent_tickets as (

    select
        account_days.account_id,
        account_days.date_day,
        count(*) as urgent_tickets_30d
    from account_days
    inner join ticket_spans
        on
            account_days.account_id = ticket_spans.account_id
            and account_days.date_day >= ticket_spans.created_date
            and ticket_spans.created_date
            > cast({{ dbt.dateadd('day', -30, 'account_days.date_day') }} as date)
    where ticket_spans.priority = 'urgent'
    group by account_days.account_id, account_days.date_day

),

respondents as (

    select
        source_record_id as person_id,
        account_id
    from identity
    where
        source_system = 'delighted'
        and account_id is not null

),

account_responses as (

    select
        respondents.account_id,
        survey_responses.survey_response_id,
        survey_responses.survey_type,
        survey_responses.score,
        survey_responses.responded_at,
        cast(survey_responses.responded_at as date) as response_date
    from survey_responses
    inner join respondents
        on survey_responses.person_id = respondents.person_id
    where survey_responses.is_score_in_range

),

-- The last NPS answer of each day at the account wins that day.
daily_last_nps as (

    select
        account_id,
        response_date,
        score,
        row_number() over (
            partition by account_id, response_date
            order by responded_at desc, survey_response_id desc
        ) as recency_rank
    from account_responses
    where survey_type = 'nps'

),

-- Each answer stays the latest until the day of the next one.
nps_validity as (

    select
        account_id,
        response_date,
        score,
        coalesce(
            lead(response_date) over (partition by account_id order by response_date),
            cast('9999-12-31' as date)
        ) as next_response_date
    from daily_last_nps
    where recency_rank = 1

),

latest_nps as (

    select
        account_days.account_id,
        account_days.date_day,
        nps_validity.score as latest_nps_score,
        nps_validity.response_date as latest_nps_date
    from account_days
    inner join nps_validity
        on
            account_days.account_id = nps_validity.account_id
            and account_days.date_day >= nps_validity.response_date
            and account_days.date_day < nps_validity.next_response_date

),

csat_90d as (

    select
        account_days.account_id,
        account_days.date_day,
        avg(cast(account_responses.score as double)) as csat_score_90d
    from account_days
    inner join account_responses
        on
            account_days.account_id = account_responses.account_id
            and account_days.date_day >= account_responses.response_date
            and account_responses.response_date
            > cast({{ dbt.dateadd('day', -90, 'account_days.date_day') }} as date)
    where account_responses.survey_type = 'csat'
    group by account_days.account_id, account_days.date_day

),

account_engagements as (

    select
        engagement_companies.company_id as account_id,
        engagements.engagement_id,
        cast(engagements.occurred_at as date) as engagement_date
    from engagements
    inner join engagement_companies
        on engagements.engagement_id = engagement_companies.engagement_id
    where engagements.engagement_type in ('meeting', 'call', 'email')

),

engagements_30d as (

    select
        account_days.account_id,
        account_days.date_day,
        count(distinct account_engagements.engagement_id) as engagements_30d
    from account_days
    inner join account_engagements
        on
            account_days.account_id = account_engagements.account_id
            and account_days.date_day >= account_engagements.engagement_date
            and account_engagements.engagement_date
            > cast({{ dbt.dateadd('day', -30, 'account_days.date_day') }} as date)
    group by account_days.account_id, account_days.date_day

),

-- Meetings removed in the CRM are gone from stg_hubspot__engagements, so the
-- join to it keeps live meetings only.
completed_meetings as (

    select
        engagement_companies.company_id as account_id,
        engagement_meetings.engagement_id,
        cast(
            coalesce(engagement_meetings.meeting_at, engagements.occurred_at) as date
        ) as meeting_date
    from engagement_meetings
    inner join engagements
        on engagement_meetings.engagement_id = engagements.engagement_id
    inner join engagement_companies
        on engagement_meetings.engagement_id = engagement_companies.engagement_id
    where engagement_meetings.meeting_outcome = 'completed'

),

meetings_90d as (

    select
        account_days.account_id,
        account_days.date_day,
        count(distinct completed_meetings.engagement_id) as meetings_90d
    from account_days
    inner join completed_meetings
        on
            account_days.account_id = completed_meetings.account_id
            and account_days.date_day >= completed_meetings.meeting_date
            and completed_meetings.meeting_date
            > cast({{ dbt.dateadd('day', -90, 'account_days.date_day') }} as date)
    group by account_days.account_id, account_days.date_day

),

final as (

    select
        account_days.account_id,
        account_days.date_day,
        accounts.segment,
        accounts.owner_id,
        account_days.contract_start_date,
        case
            when first_paid_dates.first_paid_date <= account_days.date_day
                then first_paid_dates.first_paid_date
        end as first_paid_date,
        {{ days_between('account_days.contract_start_date', 'account_days.date_day') }}
            as days_since_contract_start,
        coalesce(billing_days.has_paying = 1, false) as is_paying,
        coalesce(billing_days.has_trialing = 1 and billing_days.has_paying = 0, false)
            as is_trialing,
        billing_days.contracted_seats,
        billing_days.plan_name,
        cast(billing_days.billing_term_months as {{ dbt.type_numeric() }}) as billing_term_months,
        billing_days.renewal_date,
        coalesce(usage.events_1d, 0) as events_1d,
        coalesce(usage.active_users_1d, 0) as active_users_1d,
        coalesce(usage.key_feature_events_1d, 0) as key_feature_events_1d,
        coalesce(usage.events_7d, 0) as events_7d,
        coalesce(usage.events_prev_7d, 0) as events_prev_7d,
        usage.usage_change_wow,
        coalesce(usage.active_users_7d, 0) as active_users_7d,
        coalesce(usage.active_users_28d, 0) as active_users_28d,
        cast(coalesce(usage.active_users_7d, 0) as double)
        / nullif(billing_days.contracted_seats, 0) as seat_utilisation,
        coalesce(usage.key_features_used_28d, 0) as key_features_used_28d,
        coalesce(usage.key_feature_adoption, 0) as key_feature_adoption,
        usage.first_key_event_date,
        coalesce(usage.onboarding_steps_completed, 0) as onboarding_steps_completed,
        usage.onboarding_completed_date,
        coalesce(open_tickets.open_urgent_high_tickets, 0) as open_urgent_high_tickets,
        coalesce(open_tickets.open_tickets, 0) as open_tickets,
        coalesce(urgent_tickets.urgent_tickets_30d, 0) as urgent_tickets_30d,
        latest_nps.latest_nps_score,
        latest_nps.latest_nps_date,
        csat_90d.csat_score_90d,
        coalesce(engagements_30d.engagements_30d, 0) as engagements_30d,
        coalesce(meetings_90d.meetings_90d, 0) as meetings_90d,
        '{{ invocation_id }}' as dbt_invocation_id
    from account_days
    inner join accounts
        on account_days.account_id = accounts.account_id
    left join first_paid_dates
        on account_days.account_id = first_paid_dates.account_id
    left join billing_days
        on
            account_days.account_id = billing_days.account_id
            and account_days.date_day = billing_days.date_day
    left join usage
        on
            account_days.account_id = usage.account_id
            and account_days.date_day = usage.date_day
    left join open_tickets
        on
            account_days.account_id = open_tickets.account_id
            and account_days.date_day = open_tickets.date_day
    left join urgent_tickets
        on
            account_days.account_id = urgent_tickets.account_id
            and account_days.date_day = urgent_tickets.date_day
    left join latest_nps
        on
            account_days.account_id = latest_nps.account_id
            and account_days.date_day = latest_nps.date_day
    left join csat_90d
        on
            account_days.account_id = csat_90d.account_id
            and account_days.date_day = csat_90d.date_day
    left join engagements_30d
        on
            account_days.account_id = engagements_30d.account_id
            and account_days.date_day = engagements_30d.date_day
    left join meetings_90d
        on
            account_days.account_id = meetings_90d.account_id
            and account_days.date_day = meetings_90d.date_day

)

select * from final
