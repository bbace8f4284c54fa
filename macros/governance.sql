{#-
    The sources a node is built from, following its parents through the graph:
    a comma-separated, sorted list of source names ("hubspot, stripe").
    Breadth-first over depends_on; the depth bound is far above the project's
    longest chain (raw → staging → intermediate → mart → sync is five).
-#}
{% macro upstream_source_names(node) -%}
    {%- set state = namespace(frontier=node.depends_on.nodes | list, seen=[]) -%}
    {%- for _ in range(25) -%}
        {%- set next_frontier = [] -%}
        {%- for unique_id in state.frontier -%}
            {%- if unique_id not in state.seen -%}
                {%- do state.seen.append(unique_id) -%}
                {%- if unique_id in graph.nodes -%}
                    {%- for parent in graph.nodes[unique_id].depends_on.nodes -%}
                        {%- do next_frontier.append(parent) -%}
                    {%- endfor -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set state.frontier = next_frontier -%}
    {%- endfor -%}
    {%- set names = [] -%}
    {%- for unique_id in state.seen -%}
        {%- if unique_id in graph.sources -%}
            {%- set name = graph.sources[unique_id].source_name -%}
            {%- if name not in names -%}{%- do names.append(name) -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | sort | join(', ')) }}
{%- endmacro %}


{#- A Python string as a SQL string literal, or null when it is empty. -#}
{% macro text_literal(value) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        null
    {%- else -%}
        '{{ value | string | trim | replace("'", "''") | replace("\n", " ") }}'
    {%- endif -%}
{%- endmacro %}
