with

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

segments as (

    select * from {{ ref('int_accounts_segmented') }}

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

-- How many records of each other system resolved to the account.
linked_records as (

    select
        account_id,
        sum(case when source_system = 'stripe' then 1 else 0 end) as billing_customer_count,
        sum(case when source_system = 'segment' then 1 else 0 end) as product_account_count,
        sum(case when source_system = 'zendesk' then 1 else 0 end) as support_organization_count
    from identity
    where is_matched
    group by account_id

),

segmented as (

    select
        companies.*,
        segments.segment
    from companies
    inner join segments
        on companies.company_id = segments.account_id

),

final as (

    select
        segmented.company_id as account_id,
        segmented.company_name as account_name,
        segmented.domain,
        segmented.industry,
        segmented.employee_count,
        segmented.segment,
        segmented.lifecycle_stage,
        segmented.owner_id,
        owners.full_name as owner_name,
        owners.email as owner_email,
        segmented.product_account_id,
        cast(coalesce(linked_records.billing_customer_count, 0) as {{ dbt.type_int() }})
            as billing_customer_count,
        cast(coalesce(linked_records.product_account_count, 0) as {{ dbt.type_int() }})
            as product_account_count,
        cast(coalesce(linked_records.support_organization_count, 0) as {{ dbt.type_int() }})
            as support_organization_count,
        coalesce(linked_records.billing_customer_count, 0) > 0 as has_billing,
        segmented.created_at
    from segmented
    left join owners
        on segmented.owner_id = owners.owner_id
    left join linked_records
        on segmented.company_id = linked_records.account_id

)

select * from final
