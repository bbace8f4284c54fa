{#- Fails for every combination of the columns that occurs more than once. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}


{#-
    Fails for every record of a staging model that the account identity does
    not list: identity resolution must account for every record, matched or
    not, so nothing disappears between a source and the marts.
-#}
{% test listed_in_account_identity(model, column_name, source_system) %}
    select records.{{ column_name }}
    from {{ model }} as records
    left join {{ ref('int_account_identity') }} as identity
        on identity.source_system = '{{ source_system }}'
        and identity.source_record_id = cast(records.{{ column_name }} as {{ dbt.type_string() }})
    where records.{{ column_name }} is not null
        and identity.source_record_id is null
{% endtest %}


{#- Fails for every row where the SQL expression is not true. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}


{#-
    Fails for every partition whose months are not consecutive: between the
    first and the last month each month must appear exactly once.
-#}
{% test consecutive_months(model, partition_by, month_column) %}
    select
        {{ partition_by }},
        min({{ month_column }}) as first_month,
        max({{ month_column }}) as last_month,
        count(*) as month_rows
    from {{ model }}
    group by {{ partition_by }}
    having count(*) <> count(distinct {{ month_column }})
        or count(*) <> {{ dbt.datediff(
            'min(' ~ month_column ~ ')', 'max(' ~ month_column ~ ')', 'month'
        ) }} + 1
{% endtest %}
