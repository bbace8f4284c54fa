{#-
    Turns a price per billing interval into a price per month: a year is 12
    months, a week 52/12 of a month and a day 365/12, divided by the number of
    intervals between billings (a quarterly price is 'month' × 3).
-#}
{% macro monthly_price_factor(interval_column, interval_count_column) -%}
    {#- Doubles, not decimal literals: Spark keeps 1.0 / 12 as a decimal of
        six places (0.083333), a cent off on a yearly price. -#}
    case {{ interval_column }}
        when 'month' then cast(1 as double)
        when 'year' then cast(1 as double) / 12
        when 'week' then cast(52 as double) / 12
        when 'day' then cast(365 as double) / 12
    end / nullif({{ interval_count_column }}, 0)
{%- endmacro %}


{#- Fails compilation when a definition switch holds a value it does not know. -#}
{% macro revenue_var(name, allowed) -%}
    {%- set value = var(name) -%}
    {%- if value not in allowed -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " is " ~ value ~ "; expected one of " ~ allowed | join(", ")
        ) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
