{#-
    Resolves every system's record to one account key, the CRM company id.
    Rules, in order: an explicit id the source carries (Stripe metadata, the
    CRM's product account property, Zendesk external_id, the survey's
    company_id), then an exact CRM contact email (surveys), then a web or
    email domain that exactly one CRM company has. Records no rule matches are
    kept with account_id null and match_method 'unmatched' (or
    'ambiguous_domain'), so they stay visible in the coverage report.
-#}

with

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

customers as (

    select * from {{ ref('stg_stripe__customers') }}

),

product_accounts as (

    select * from {{ ref('int_product_accounts') }}

),

organizations as (

    select * from {{ ref('stg_zendesk__organizations') }}

),

organization_domains as (

    select * from {{ ref('stg_zendesk__organization_domains') }}

),

survey_responses as (

    select * from {{ ref('stg_delighted__survey_responses') }}

),

-- A domain identifies a company only when exactly one company has it, and
-- never when it is a free-mail domain.
company_domains as (

    select
        domain,
        min(company_id) as company_id
    from companies
    where
        domain is not null
        and domain not in {{ personal_email_domains() }}
    group by domain
    having count(*) = 1

),

company_product_accounts as (

    select
        product_account_id,
        min(company_id) as company_id
    from companies
    where product_account_id is not null
    group by product_account_id
    having count(*) = 1

),

company_keys as (

    select
        company_id,
        cast(company_id as {{ dbt.type_string() }}) as company_key
    from companies

),

crm_identity as (

    select
        'hubspot' as source_system,
        cast(company_id as {{ dbt.type_string() }}) as source_record_id,
        company_name as source_record_name,
        company_id as account_id,
        'crm_record' as match_method,
        cast(company_id as {{ dbt.type_string() }}) as match_key
    from companies

),

billing_candidates as (

    select
        customers.customer_id,
        customers.customer_name,
        customers.crm_company_id,
        customers.email_domain,
        explicit_match.company_id as explicit_company_id,
        domain_match.company_id as domain_company_id
    from customers
    left join company_keys as explicit_match
        on customers.crm_company_id = explicit_match.company_key
    left join company_domains as domain_match
        on customers.email_domain = domain_match.domain

),

billing_identity as (

    select
        'stripe' as source_system,
        customer_id as source_record_id,
        customer_name as source_record_name,
        coalesce(explicit_company_id, domain_company_id) as account_id,
        case
            when explicit_company_id is not null then 'explicit_id'
            when domain_company_id is not null then 'email_domain'
            else 'unmatched'
        end as match_method,
        case
            when explicit_company_id is not null then crm_company_id
            else email_domain
        end as match_key
    from billing_candidates

),

product_candidates as (

    select
        product_accounts.product_account_id,
        product_accounts.account_name,
        product_accounts.website_domain,
        explicit_match.company_id as explicit_company_id,
        domain_match.company_id as domain_company_id
    from product_accounts
    left join company_product_accounts as explicit_match
        on product_accounts.product_account_id = explicit_match.product_account_id
    left join company_domains as domain_match
        on product_accounts.website_domain = domain_match.domain

),

product_identity as (

    select
        'segment' as source_system,
        product_account_id as source_record_id,
        account_name as source_record_name,
        coalesce(explicit_company_id, domain_company_id) as account_id,
        case
            when explicit_company_id is not null then 'explicit_id'
            when domain_company_id is not null then 'web_domain'
            else 'unmatched'
        end as match_method,
        case
            when explicit_company_id is not null then product_account_id
            else website_domain
        end as match_key
    from product_candidates

),

-- An organization may list several domains; it matches by domain only when
-- they all point at the same company.
organization_domain_matches as (

    select
        organization_domains.organization_id,
        min(company_domains.company_id) as company_id,
        min(organization_domains.domain) as matched_domain,
        count(distinct company_domains.company_id) as matched_company_count
    from organization_domains
    inner join company_domains
        on organization_domains.domain = company_domains.domain
    group by organization_domains.organization_id

),

support_candidates as (

    select
        organizations.organization_id,
        organizations.organization_name,
        organizations.crm_company_id,
        explicit_match.company_id as explicit_company_id,
        domain_match.company_id as domain_company_id,
        domain_match.matched_domain,
        coalesce(domain_match.matched_company_count, 0) as matched_company_count
    from organizations
    left join company_keys as explicit_match
        on organizations.crm_company_id = explicit_match.company_key
    left join organization_domain_matches as domain_match
        on organizations.organization_id = domain_match.organization_id

),

support_identity as (

    select
        'zendesk' as source_system,
        cast(organization_id as {{ dbt.type_string() }}) as source_record_id,
        organization_name as source_record_name,
        case
            when explicit_company_id is not null then explicit_company_id
            when matched_company_count = 1 then domain_company_id
        end as account_id,
        case
            when explicit_company_id is not null then 'explicit_id'
            when matched_company_count = 1 then 'web_domain'
            when matched_company_count > 1 then 'ambiguous_domain'
            else 'unmatched'
        end as match_method,
        case
            when explicit_company_id is not null then crm_company_id
            else matched_domain
        end as match_key
    from support_candidates

),

-- One respondent answers many surveys; the latest response carries the
-- current email, and any response that named the company identifies it.
respondent_responses as (

    select
        person_id,
        email,
        email_domain,
        crm_company_id,
        row_number() over (
            partition by person_id
            order by responded_at desc, survey_response_id desc
        ) as recency_rank
    from survey_responses

),

respondents as (

    select
        person_id,
        max(case when recency_rank = 1 then email end) as email,
        max(case when recency_rank = 1 then email_domain end) as email_domain,
        max(crm_company_id) as crm_company_id
    from respondent_responses
    group by person_id

),

contact_emails as (

    select
        contacts.email,
        min(contacts.company_id) as company_id
    from contacts
    inner join companies
        on contacts.company_id = companies.company_id
    where contacts.email is not null
    group by contacts.email
    having count(distinct contacts.company_id) = 1

),

survey_candidates as (

    select
        respondents.person_id,
        respondents.email,
        respondents.email_domain,
        respondents.crm_company_id,
        explicit_match.company_id as explicit_company_id,
        contact_match.company_id as contact_company_id,
        domain_match.company_id as domain_company_id
    from respondents
    left join company_keys as explicit_match
        on respondents.crm_company_id = explicit_match.company_key
    left join contact_emails as contact_match
        on respondents.email = contact_match.email
    left join company_domains as domain_match
        on respondents.email_domain = domain_match.domain

),

survey_identity as (

    select
        'delighted' as source_system,
        person_id as source_record_id,
        email as source_record_name,
        coalesce(explicit_company_id, contact_company_id, domain_company_id) as account_id,
        case
            when explicit_company_id is not null then 'explicit_id'
            when contact_company_id is not null then 'contact_email'
            when domain_company_id is not null then 'email_domain'
            else 'unmatched'
        end as match_method,
        case
            when explicit_company_id is not null then crm_company_id
            when contact_company_id is not null then email
            else email_domain
        end as match_key
    from survey_candidates

),

unioned as (

    select * from crm_identity
    union all
    select * from billing_identity
    union all
    select * from product_identity
    union all
    select * from support_identity
    union all
    select * from survey_identity

),

final as (

    select
        source_system,
        source_record_id,
        source_record_name,
        account_id,
        match_method,
        match_key,
        account_id is not null as is_matched
    from unioned

)

select * from final
