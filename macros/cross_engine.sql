{#-
    Small helpers whose SQL differs between engines. Each dispatches, so an
    engine-specific version can sit beside the default one (see
    docs/decisions.md on portability).
-#}

{#- The value of a top-level key of a JSON text column, as text. -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'cs_warehouse')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro spark__json_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}


{#-
    A web domain from a URL, a host name or an email address: lowercased,
    without scheme, "www.", path, port, or anything up to an "@".
    "https://www.Acme.io/about" and "jane@acme.io" both give "acme.io".
-#}
{% macro normalize_domain(expression) -%}
    {{ return(adapter.dispatch('normalize_domain', 'cs_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__normalize_domain(expression) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                lower(trim({{ expression }})),
                '^([a-z][a-z0-9+.-]*://)?([^@/]*@)?(www\.)?',
                ''
            ),
            '[/:?#].*$',
            ''
        ),
        ''
    )
{%- endmacro %}


{#-
    Whole days from start_date to end_date (negative when end is earlier), as
    a bigint on every engine: dbt.datediff gives a bigint on DuckDB and an int
    on Spark, and the marts' contracts fix one type.
-#}
{% macro days_between(start_date, end_date) -%}
    cast({{ dbt.datediff(start_date, end_date, 'day') }} as {{ dbt.type_bigint() }})
{%- endmacro %}


{#-
    A number rounded to `places` decimals, halves away from zero, as a double,
    the same on every engine. Rounding a double directly follows its binary
    value, and engines differ on a value such as -0.38125 (stored a hair
    above or below the half). Fixing it to 12 decimals first makes it an
    exact decimal, which both engines round alike. Sums of doubles added in a
    different order differ far below the 12th decimal, so they round alike too.
-#}
{% macro round_half_up(expression, places) -%}
    cast(round(cast({{ expression }} as decimal(38, 12)), {{ places }}) as double)
{%- endmacro %}


{#-
    dbt.listagg in a set order: the values of `measure` joined by
    `delimiter_text`, ordered by `order_by` and then by the value itself, so
    ties come out the same on every run and engine. dbt-spark's listagg
    ignores the order (Spark's collect_list has none); on Spark the pairs are
    collected, sorted, then joined.
-#}
{% macro ordered_listagg(measure, delimiter_text, order_by) -%}
    {{ return(adapter.dispatch('ordered_listagg', 'cs_warehouse')(
        measure, delimiter_text, order_by
    )) }}
{%- endmacro %}

{% macro default__ordered_listagg(measure, delimiter_text, order_by) -%}
    {{ dbt.listagg(measure, delimiter_text, 'order by ' ~ order_by ~ ', ' ~ measure) }}
{%- endmacro %}

{% macro spark__ordered_listagg(measure, delimiter_text, order_by) -%}
    array_join(
        transform(
            array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', {{ measure }}))),
            pair -> pair.v
        ),
        {{ delimiter_text }}
    )
{%- endmacro %}


{#- A share as whole percent text: 0.384 gives '38', -0.38125 gives '-38'. -#}
{% macro percent_text(expression) -%}
    cast(
        cast({{ round_half_up(expression ~ ' * 100', 0) }} as {{ dbt.type_int() }})
        as {{ dbt.type_string() }}
    )
{%- endmacro %}
