{#-
    Day-partitioned incremental models (docs/decisions.md, entry 15). On an
    incremental run the days to rebuild are the event days of every raw
    delivery received after the newest delivery already processed, less
    var events_lookback_days; each such day is recomputed whole from raw and
    replaces the model's rows for that day (delete+insert on event_date).
-#}

{#-
    The event days to rebuild, as ISO date strings; none on a first build or
    a full refresh (every day). raw_relation is the raw table, read before
    deduplication: any delivery, a retry included, marks its day.
    watermark_column is the model's own max(received_at) of what it processed.
-#}
{% macro event_days_to_rebuild(
    raw_relation, occurred_at_column, received_at_column, watermark_column
) %}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {#- Three days cover a loader that lands a delivery out of order, a
        retried sync or a re-run of a few days' partitions. -#}
    {%- set lookback_days = var('events_lookback_days', 3) | int -%}
    {%- set watermark -%}
        (select max({{ watermark_column }}) from {{ this }})
    {%- endset -%}
    {#- An empty model has no watermark: every delivery is new. -#}
    {%- set days_query -%}
        select distinct cast({{ occurred_at_column }} as date) as event_date
        from {{ raw_relation }}
        where {{ received_at_column }} > coalesce(
            {{ dbt.dateadd('day', -lookback_days, watermark) }},
            cast('1900-01-01' as {{ dbt.type_timestamp() }})
        )
        order by event_date
    {%- endset -%}
    {%- set days = run_query(days_query).columns[0].values() -%}
    {{ return(days | map('string') | list) }}
{% endmacro %}

{#-
    A predicate keeping the given days: true for none (every day), false for
    an empty list. The days are literals rather than a subquery so the
    database can push the filter below a staging view's window functions
    partitioned by the same column, down to the raw scan.
-#}
{% macro event_day_filter(date_column, days) %}
    {%- if days is none -%}
        true
    {%- elif days | length == 0 -%}
        false
    {%- else -%}
        {{ date_column }} in (
            {%- for day in days %}
            cast('{{ day }}' as date){{ "," if not loop.last }}
            {%- endfor %}
        )
    {%- endif -%}
{% endmacro %}
