{#-
    Generated from the project's own graph at compile time, so it always
    describes the YAML as it is: one select of literals per mart column.
    Layers documented: marts and sync models (what BI tools and the CRM read).
-#}

{%- set documented_layers = ['marts', 'sync'] %}
{%- set rows = [] %}
{%- if execute %}
    {%- for node in graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | sort(attribute='name') %}
        {%- if node.fqn[1] in documented_layers %}
            {%- set owner = (node.config.meta or {}).get('owner')
                or (node.meta or {}).get('owner') %}
            {%- set sources = upstream_source_names(node) %}
            {%- for column in node.columns.values() %}
                {%- set tests = [] %}
                {%- for test in graph.nodes.values()
                    | selectattr('resource_type', 'equalto', 'test') %}
                    {%- if test.attached_node == node.unique_id
                        and test.column_name == column.name
                        and test.test_metadata is not none %}
                        {%- do tests.append(test.test_metadata.name) %}
                    {%- endif %}
                {%- endfor %}
                {%- do rows.append({
                    'model_name': node.name,
                    'layer': node.fqn[1],
                    'column_name': column.name,
                    'column_position': loop.index,
                    'data_type': column.data_type,
                    'column_description': column.description,
                    'model_owner': owner,
                    'source_systems': sources,
                    'tests_applied': tests | unique | sort | join(', '),
                    'is_contract_enforced': node.config.contract.enforced,
                }) %}
            {%- endfor %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

with

columns_documented as (

    {%- for row in rows %}
    select
        {{ text_literal(row.model_name) }} as model_name,
        {{ text_literal(row.layer) }} as layer,
        {{ text_literal(row.column_name) }} as column_name,
        {{ row.column_position }} as column_position,
        {{ text_literal(row.data_type) }} as data_type,
        {{ text_literal(row.column_description) }} as column_description,
        {{ text_literal(row.model_owner) }} as model_owner,
        {{ text_literal(row.source_systems) }} as source_systems,
        {{ text_literal(row.tests_applied) }} as tests_applied,
        {{ 'true' if row.is_contract_enforced else 'false' }} as is_contract_enforced
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if rows | length == 0 %}
    -- Parsing (execute is false): an empty relation of the same shape.
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as layer,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_int() }}) as column_position,
        cast(null as {{ dbt.type_string() }}) as data_type,
        cast(null as {{ dbt.type_string() }}) as column_description,
        cast(null as {{ dbt.type_string() }}) as model_owner,
        cast(null as {{ dbt.type_string() }}) as source_systems,
        cast(null as {{ dbt.type_string() }}) as tests_applied,
        false as is_contract_enforced
    where 1 = 0
    {%- endif %}

),

final as (

    select
        cast(model_name as {{ dbt.type_string() }}) as model_name,
        cast(layer as {{ dbt.type_string() }}) as layer,
        cast(column_name as {{ dbt.type_string() }}) as column_name,
        cast(column_position as {{ dbt.type_int() }}) as column_position,
        cast(data_type as {{ dbt.type_string() }}) as data_type,
        cast(column_description as {{ dbt.type_string() }}) as column_description,
        cast(model_owner as {{ dbt.type_string() }}) as model_owner,
        cast(source_systems as {{ dbt.type_string() }}) as source_systems,
        cast(tests_applied as {{ dbt.type_string() }}) as tests_applied,
        is_contract_enforced
    from columns_documented

)

select * from final
