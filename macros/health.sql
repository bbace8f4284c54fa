{#-
    Tests of the health score (docs/health_score.md).
-#}

{#- Fails for every configuration version and segment whose weights do not sum to 1. -#}
{% test health_weights_sum_to_one(model) %}
    select
        config_version,
        segment,
        sum(weight) as total_weight
    from {{ model }}
    group by config_version, segment
    having abs(sum(weight) - 1) > 0.000001
{% endtest %}


{#-
    Fails for every account-day whose health_score differs from the sum of its
    components' contributions in `components_model` by more than the score's
    rounding (one decimal), or that has no component rows at all.
-#}
{% test health_contributions_sum_to_score(model, components_model) %}
    with

    component_sums as (

        select
            account_id,
            date_day,
            sum(contribution) as contribution_sum
        from {{ components_model }}
        group by account_id, date_day

    )

    select
        scores.account_id,
        scores.date_day,
        scores.health_score,
        component_sums.contribution_sum
    from {{ model }} as scores
    left join component_sums
        on
            scores.account_id = component_sums.account_id
            and scores.date_day = component_sums.date_day
    where
        component_sums.contribution_sum is null
        or abs(scores.health_score - component_sums.contribution_sum) > 0.0501
{% endtest %}


{#-
    A double-precision float. dbt.type_float() is a 4-byte float on DuckDB,
    too coarse for scores and weights; double precision is the SQL standard
    name (DuckDB, Postgres, Snowflake, Redshift), BigQuery calls it float64.
-#}
{% macro health_double() -%}
    {{ return(adapter.dispatch('health_double', 'cs_warehouse')()) }}
{%- endmacro %}

{% macro default__health_double() -%}
    double precision
{%- endmacro %}

{% macro bigquery__health_double() -%}
    float64
{%- endmacro %}

{% macro spark__health_double() -%}
    double
{%- endmacro %}
