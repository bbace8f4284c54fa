{#-
    Health of every raw table at the end of the as-of day: how old its newest
    data is against the freshness windows of the dbt sources YAML, and what
    the loader recorded for it. The tables, their loaded_at fields and windows
    are compiled from dbt's graph, so they cannot drift from the YAML; sources
    marked `landing: false` (the loader's own tables) are left out.

    The raw tables are read through source() while the model runs, when the
    graph is known; dbt's parser sees an empty graph, so the manifest lists
    only the loader's tables as this model's parents.

    The statuses are the ones the Dagster check `source_freshness` reports
    (orchestration/defs/freshness.py): past a window means strictly beyond it.
-#}

{%- set period_hours = {'minute': 1 / 60, 'hour': 1, 'day': 24} %}
{%- set raw_tables = [] %}
{%- if execute %}
    {%- for node in graph.sources.values()
        | sort(attribute='unique_id') %}
        {%- if (node.config.meta or {}).get('landing', true) %}
            {%- set hours = {} %}
            {%- for kind in ['warn_after', 'error_after'] %}
                {%- set window = (node.freshness or {}).get(kind) or {} %}
                {%- if window.get('count') is not none and window.get('period') is not none %}
                    {%- do hours.update({kind: window['count'] * period_hours[window['period']]}) %}
                {%- endif %}
            {%- endfor %}
            {%- do raw_tables.append({
                'source_name': node.source_name,
                'table_name': node.name,
                'cte': node.source_name ~ '__' ~ node.name,
                'loaded_at_field': node.loaded_at_field,
                'warn_after_hours': hours.get('warn_after'),
                'error_after_hours': hours.get('error_after'),
            }) %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

with

{% for raw in raw_tables %}
    {{ raw.cte }} as (

        select * from {{ source(raw.source_name, raw.table_name) }}

    ),

{% endfor %}
load_audit as (

    select * from {{ source('loader', 'load_audit') }}

),

quarantine as (

    select * from {{ source('loader', 'quarantine') }}

),

-- Freshness is measured at the end of the as-of day, not at the wall clock:
-- the warehouse describes that day.
measurement as (

    select
        cast(
            {{ dbt.dateadd('day', 1, as_of_date()) }} as {{ dbt.type_timestamp() }}
        ) as as_of_end_at

),

-- One row per raw table: the field and windows its YAML declares, its newest
-- loaded_at value and its row count.
raw_table_loads as (

    {%- for raw in raw_tables %}
        select
            {{ text_literal(raw.source_name) }} as source_name,
            {{ text_literal(raw.table_name) }} as table_name,
            {{ text_literal(raw.loaded_at_field) }} as loaded_at_field,
            {{ raw.warn_after_hours if raw.warn_after_hours is not none else 'null' }}
                as warn_after_hours,
            {{ raw.error_after_hours if raw.error_after_hours is not none else 'null' }}
                as error_after_hours,
            max({{ raw.loaded_at_field or 'null' }}) as last_loaded_at,
            count(*) as row_count
        from {{ raw.cte }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
    {%- if raw_tables | length == 0 %}
        -- Parsing (the graph is empty) or no landing source: an empty
        -- relation of the same shape.
        select
            cast(null as {{ dbt.type_string() }}) as source_name,
            cast(null as {{ dbt.type_string() }}) as table_name,
            cast(null as {{ dbt.type_string() }}) as loaded_at_field,
            cast(null as double) as warn_after_hours,
            cast(null as double) as error_after_hours,
            cast(null as {{ dbt.type_timestamp() }}) as last_loaded_at,
            cast(0 as {{ dbt.type_bigint() }}) as row_count
        where 1 = 0
    {%- endif %}

),

-- Each file's latest attempt says whether it is loaded now: a file that
-- failed and was then fixed counts as loaded once.
latest_file_attempts as (

    select
        source as source_name,
        table_name,
        status,
        max(case when status = 'loaded' then finished_at end) over (
            partition by source, table_name, file_path
        ) as file_last_loaded_at,
        row_number() over (
            partition by source, table_name, file_path
            order by finished_at desc
        ) as attempt_rank
    from load_audit

),

file_loads as (

    select
        source_name,
        table_name,
        count(case when status = 'loaded' then 1 end) as files_loaded,
        count(case when status = 'failed' then 1 end) as files_failed,
        max(file_last_loaded_at) as last_file_loaded_at
    from latest_file_attempts
    where attempt_rank = 1
    group by source_name, table_name

),

quarantined_rows as (

    select
        source as source_name,
        table_name,
        count(*) as rows_quarantined
    from quarantine
    group by source, table_name

),

aged as (

    select
        raw_table_loads.*,
        measurement.as_of_end_at,
        {{ dbt.datediff('raw_table_loads.last_loaded_at', 'measurement.as_of_end_at', 'second') }}
        / 3600.0 as hours_since_last_load
    from raw_table_loads
    cross join measurement

),

classified as (

    select
        *,
        case
            -- Nothing to measure the age by: the table only has to hold data.
            when loaded_at_field is null and row_count > 0 then 'no_window'
            when last_loaded_at is null then 'no_data'
            when hours_since_last_load > error_after_hours then 'error'
            when hours_since_last_load > warn_after_hours then 'warn'
            when warn_after_hours is null and error_after_hours is null then 'no_window'
            else 'fresh'
        end as freshness_status
    from aged

),

final as (

    select
        cast(classified.source_name as {{ dbt.type_string() }}) as source_name,
        cast(classified.table_name as {{ dbt.type_string() }}) as table_name,
        cast(classified.loaded_at_field as {{ dbt.type_string() }}) as loaded_at_field,
        cast(classified.last_loaded_at as {{ dbt.type_timestamp() }}) as last_loaded_at,
        cast(classified.as_of_end_at as {{ dbt.type_timestamp() }}) as as_of_end_at,
        {{ round_half_up('classified.hours_since_last_load', 2) }} as hours_since_last_load,
        cast(classified.warn_after_hours as double) as warn_after_hours,
        cast(classified.error_after_hours as double) as error_after_hours,
        cast(classified.freshness_status as {{ dbt.type_string() }}) as freshness_status,
        cast(classified.row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(coalesce(file_loads.files_loaded, 0) as {{ dbt.type_bigint() }}) as files_loaded,
        cast(coalesce(file_loads.files_failed, 0) as {{ dbt.type_bigint() }}) as files_failed,
        cast(
            coalesce(quarantined_rows.rows_quarantined, 0) as {{ dbt.type_bigint() }}
        ) as rows_quarantined,
        cast(file_loads.last_file_loaded_at as {{ dbt.type_timestamp() }})
            as last_file_loaded_at
    from classified
    left join file_loads
        on
            classified.source_name = file_loads.source_name
            and classified.table_name = file_loads.table_name
    left join quarantined_rows
        on
            classified.source_name = quarantined_rows.source_name
            and classified.table_name = quarantined_rows.table_name

)

select * from final
