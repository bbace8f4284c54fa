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


{#-
    Account-day models (docs/decisions.md, entry 18). A daily run recomputes
    every account from a first day on and replaces the model's rows from that
    day: the earliest of
      - the earliest day the upstream model rebuilt in this dbt invocation
        (its dbt_invocation_id column), so a late event 40 days old
        recomputes the 40 days its rolling windows carry it into;
      - the day after the model's last day, so days never built are built;
      - the as-of date less var account_days_lookback_days, for inputs that
        carry no day of their own (a ticket closed, an answer edited);
      - var rebuild_account_days_from, when given, to recompute further back
        by hand without a full refresh.
    None on a first build or a full refresh (every day).
-#}
{% macro account_days_rebuild_from(upstream, upstream_day_column='date_day') %}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set lookback_days = var('account_days_lookback_days', 7) | int -%}
    {%- set forced = var('rebuild_account_days_from', '') -%}
    {%- set query -%}
        select least(
            coalesce(
                (
                    select min({{ upstream_day_column }})
                    from {{ upstream }}
                    where dbt_invocation_id = '{{ invocation_id }}'
                ),
                cast('9999-12-31' as date)
            ),
            coalesce(
                (select cast({{ dbt.dateadd('day', 1, 'max(date_day)') }} as date) from {{ this }}),
                cast('1900-01-01' as date)
            ),
            cast({{ dbt.dateadd('day', -lookback_days, as_of_date()) }} as date)
            {%- if forced %},
            cast('{{ forced }}' as date)
            {%- endif %}
        ) as rebuild_from
    {%- endset -%}
    {%- set rebuild_from = run_query(query).columns[0].values()[0] -%}
    {{ return(rebuild_from | string) }}
{% endmacro %}

{#-
    A predicate keeping the days from rebuild_from less days_before (a
    window's reach back): true when every day is built.
-#}
{% macro account_day_filter(date_column, rebuild_from, days_before=0) %}
    {%- if rebuild_from is none -%}
        true
    {%- else -%}
        {{ date_column }} >= cast({{ dbt.dateadd(
            'day', -days_before, "cast('" ~ rebuild_from ~ "' as date)"
        ) }} as date)
    {%- endif -%}
{% endmacro %}

{#-
    The config of an account-day model. On DuckDB, incremental: the rows
    from the first rebuilt day on are deleted and the new ones inserted
    (strategy below), which also drops days past an as-of date moved back.
    On Spark, a plain table rebuilt whole (docs/portability.md).
-#}
{% macro account_day_config() -%}
    {%- if target.type == 'spark' -%}
        {{ return({'materialized': 'table'}) }}
    {%- else -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'replace_days_from',
            'unique_key': 'date_day',
            'on_schema_change': 'fail',
        }) }}
    {%- endif -%}
{%- endmacro %}

{#-
    Incremental strategy replace_days_from: unique_key names the day column;
    every target row from the new rows' first day on is replaced.
-#}
{% macro get_incremental_replace_days_from_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set day_column = arg_dict['unique_key'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ day_column }} >= (select min({{ day_column }}) from {{ source }});

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}
{% endmacro %}
