{#-
    The value of one parameter of a signal rule in the `signal_rules` seed
    (one row per rule and parameter). Use it in an aggregate over the seed to
    turn its rows into one row with a column per parameter:

        select {{ signal_rule_value('rescue', 'nps_max_score') }} as rescue_nps_max_score
        from signal_rules
-#}
{% macro signal_rule_value(rule, parameter) -%}
    max(case when rule = '{{ rule }}' and parameter = '{{ parameter }}' then value end)
{%- endmacro %}


{#-
    The first day of the run of consecutive days, ending on the current row,
    on which `condition` holds, per `partition_by` ordered by `order_by` (one
    row per day, no gaps): the day after the last day it did not hold, or the
    first day of the partition when it always held. Compare it with the
    current day to get the length of the run.
-#}
{% macro run_start_date(condition, partition_by, order_by) -%}
    cast(coalesce(
        {{ dbt.dateadd('day', 1, 'max(case when not coalesce(' ~ condition ~ ', false) then '
            ~ order_by ~ ' end) over (partition by ' ~ partition_by ~ ' order by ' ~ order_by
            ~ ' rows between unbounded preceding and current row)') }},
        min({{ order_by }}) over (partition by {{ partition_by }})
    ) as date)
{%- endmacro %}
