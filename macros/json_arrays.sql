{#-
    Helpers for JSON arrays and objects held in text columns. Unnesting and
    validating JSON differ between engines, so each helper dispatches; the
    default__ versions are DuckDB's (see cross_engine.sql for the pattern).
-#}

{#-
    A complete select statement with one row per element of the JSON array in
    `array_column` of `relation`, each element as text in `element_alias`,
    beside the columns listed in `columns`. A row whose array is null, empty,
    not valid JSON or not an array gives no rows.

    Use it as the body of a CTE:
        domain_names as (
            {{ json_array_elements_text('organizations', 'domain_names',
                                        ['organization_id'], 'domain_name') }}
        ),

    It returns a whole statement, not an expression, because engines differ in
    where the unnesting goes: a lateral join in the from clause (DuckDB,
    Snowflake, BigQuery) or a lateral view (Spark).
-#}
{% macro json_array_elements_text(relation, array_column, columns, element_alias='element') -%}
    {{ return(adapter.dispatch('json_array_elements_text', 'cs_warehouse')(
        relation, array_column, columns, element_alias
    )) }}
{%- endmacro %}

{% macro default__json_array_elements_text(relation, array_column, columns, element_alias) -%}
    select
        {%- for column in columns %}
        array_rows.{{ column }},
        {%- endfor %}
        array_elements.{{ element_alias }}
    from {{ relation }} as array_rows
    cross join unnest(
        case
            when {{ is_json_array('array_rows.' ~ array_column) }}
                then json_extract_string(array_rows.{{ array_column }}, '$[*]')
        end
    ) as array_elements ({{ element_alias }})
{%- endmacro %}

{% macro spark__json_array_elements_text(relation, array_column, columns, element_alias) -%}
    select
        {%- for column in columns %}
        array_rows.{{ column }},
        {%- endfor %}
        array_elements.{{ element_alias }}
    from {{ relation }} as array_rows
    lateral view explode(
        case
            when {{ is_json_array('array_rows.' ~ array_column) }}
                then from_json(array_rows.{{ array_column }}, 'array<string>')
        end
    ) array_elements as {{ element_alias }}
{%- endmacro %}


{#- True when a text column holds a valid JSON array (false when it is null). -#}
{% macro is_json_array(column) -%}
    {{ return(adapter.dispatch('is_json_array', 'cs_warehouse')(column)) }}
{%- endmacro %}

{% macro default__is_json_array(column) -%}
    {#- A case, not an and: DuckDB may evaluate both sides of an and, and
        json_type fails on text that is not JSON. -#}
    case when json_valid({{ column }}) then json_type({{ column }}) = 'ARRAY' else false end
{%- endmacro %}

{#- json_array_length is null for null, invalid JSON and JSON other than an array. -#}
{% macro spark__is_json_array(column) -%}
    coalesce(json_array_length({{ column }}) is not null, false)
{%- endmacro %}


{#- True when a text column holds a valid JSON object (false when it is null). -#}
{% macro is_json_object(column) -%}
    {{ return(adapter.dispatch('is_json_object', 'cs_warehouse')(column)) }}
{%- endmacro %}

{% macro default__is_json_object(column) -%}
    case when json_valid({{ column }}) then json_type({{ column }}) = 'OBJECT' else false end
{%- endmacro %}

{#- json_object_keys is null for null, invalid JSON and JSON other than an object. -#}
{% macro spark__is_json_object(column) -%}
    coalesce(json_object_keys({{ column }}) is not null, false)
{%- endmacro %}
