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
