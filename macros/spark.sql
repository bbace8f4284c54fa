{#-
    What the Spark target needs that DuckDB does not (docs/portability.md).
    On DuckDB every macro here does nothing.
-#}

{#-
    Registers every dbt source as a Spark table over the Parquet copy of the
    raw table: <CS_SPARK_RAW_DIR>/<schema>/<table>/, written from the DuckDB
    loader's output by orchestration/cross_engine.py, so both engines read the
    same rows. Runs as an on-run-start hook, one statement at a time (a hook
    may hold only one), and returns no SQL. Dropping a table over an external
    location leaves its files in place; the drop makes a re-export with new
    columns visible.
-#}
{% macro register_raw_sources_on_spark() -%}
    {%- if execute and target.type == 'spark' -%}
        {%- set raw_dir = env_var(
            'CS_SPARK_RAW_DIR', env_var('CS_SPARK_DIR', 'data/spark') ~ '/raw'
        ) -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- if source.schema not in schemas -%}
                {%- do run_query('create database if not exists ' ~ source.schema) -%}
                {%- do schemas.append(source.schema) -%}
            {%- endif -%}
            {%- set relation = source.schema ~ '.' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query(
                'create table ' ~ relation ~ " using parquet location '"
                ~ raw_dir ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#-
    The config of a model rebuilt by whole days (docs/decisions.md, entry 15):
    on DuckDB, delete+insert on the day column; on Spark, whole-partition
    overwrite of a table partitioned by that day (Spark's delete+insert needs
    a table format such as Delta). Both replace exactly the days the new rows
    hold.
-#}
{% macro day_rebuild_config(day_column) -%}
    {%- if target.type == 'spark' -%}
        {{ return({
            'incremental_strategy': 'insert_overwrite',
            'partition_by': [day_column],
            'file_format': 'parquet',
        }) }}
    {%- else -%}
        {{ return({'incremental_strategy': 'delete+insert', 'unique_key': day_column}) }}
    {%- endif -%}
{%- endmacro %}


{#-
    Seeds on Spark. dbt-spark's session method pastes each CSV value into
    the insert between single quotes without escaping it, so a value with an
    apostrophe ("the account's data") breaks the statement. This version
    writes each value as an escaped literal instead (Spark escapes with a
    backslash; two quotes in a row would join two literals). dbt looks for
    dbt's own macros in the root project first, so this one is used.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                (
                {%- for value in row -%}
                    {%- set column_name = agate_table.column_names[loop.index0] -%}
                    {%- set data_type = column_override.get(
                        column_name, adapter.convert_type(agate_table, loop.index0)
                    ) -%}
                    cast({{ spark_seed_literal(value) }} as {{ data_type }})
                    {{- ", " if not loop.last }}
                {%- endfor -%}
                ){{ "," if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is number and value is not sameas true and value is not sameas false -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
