with

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

segment_rules as (

    select * from {{ ref('segment_rules') }}

),

-- Companies with no employee count fall in the smallest segment: a CS team
-- treats an unknown account as low-touch until someone fills the field in.
segmented as (

    select
        companies.company_id as account_id,
        companies.owner_id,
        coalesce(segment_rules.segment, 'smb') as segment
    from companies
    left join segment_rules
        on
            companies.employee_count >= segment_rules.min_employee_count
            and (
                segment_rules.max_employee_count is null
                or companies.employee_count <= segment_rules.max_employee_count
            )

)

select * from segmented
