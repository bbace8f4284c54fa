{#-
    Use a folder's custom schema as is (staging, intermediate, marts, …)
    instead of prefixing it with the target schema, so BI tools see stable
    names. Without a custom schema, models go to the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
