with

source as (

    select * from {{ source('finance', 'sales_marketing_expense') }}

),

renamed as (

    select
        -- Months are keyed by their first day, whatever day the export used.
        cast({{ dbt.date_trunc('month', 'expense_month') }} as date) as expense_month,
        lower(nullif(trim(department), '')) as department,
        amount as expense_amount,
        lower(nullif(trim(currency), '')) as currency,
        _loaded_file,
        _loaded_line,
        _loaded_at
    from source

),

-- Finance re-exports months when the books are corrected; the latest loaded
-- export of a month and department replaces the earlier ones.
latest as (

    select
        *,
        row_number() over (
            partition by expense_month, department
            order by _loaded_at desc, _loaded_file desc, _loaded_line desc
        ) as version_rank
    from renamed

),

final as (

    select
        expense_month,
        department,
        expense_amount,
        currency,
        _loaded_file as loaded_file,
        _loaded_at as loaded_at
    from latest
    where version_rank = 1

)

select * from final
