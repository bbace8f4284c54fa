{#-
    Stripe sends amounts in the currency's smallest unit. Most currencies have
    100 minor units; the zero-decimal ones (Stripe's list) have none, so
    dividing them by 100 would understate them a hundredfold.
-#}
{% macro minor_to_major_units(amount_column, currency_column) -%}
    case
        when lower({{ currency_column }}) in (
            'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga',
            'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'
        )
            then cast({{ amount_column }} as decimal(18, 2))
        else cast({{ amount_column }} as decimal(18, 2)) / 100
    end
{%- endmacro %}


{#-
    The as-of date of the run (var `as_of_date`, set from CS_AS_OF_DATE by the
    orchestration layer), or today when it is not set.
-#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', '') -%}
    {%- if value -%}
        cast('{{ value }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}


{#- The free-mail domains (var personal_email_domains) as a SQL list. -#}
{% macro personal_email_domains() -%}
    (
    {%- for domain in var('personal_email_domains') -%}
        '{{ domain }}'{{ ", " if not loop.last }}
    {%- endfor -%}
    )
{%- endmacro %}


{#-
    Ranks the copies of a record a connector delivered, newest first: the
    latest sync wins, then the latest load, then the later line of a file.
    Staging keeps rank 1, so a re-synced or re-exported row replaces the old.
-#}
{% macro connector_version_rank(partition_by) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by _fivetran_synced desc nulls last, _loaded_at desc, _loaded_line desc
    )
{%- endmacro %}
