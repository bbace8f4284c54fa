with

identity as (

    select * from {{ ref('int_account_identity') }}

),

flagged as (

    select
        source_system,
        case when is_matched then 1 else 0 end as is_matched_flag,
        case when match_method = 'explicit_id' then 1 else 0 end as is_explicit_id_flag,
        case when match_method = 'contact_email' then 1 else 0 end as is_contact_email_flag,
        case
            when match_method in ('email_domain', 'web_domain') then 1 else 0
        end as is_domain_flag,
        case when match_method = 'ambiguous_domain' then 1 else 0 end as is_ambiguous_flag
    from identity

),

coverage as (

    select
        source_system,
        count(*) as record_count,
        cast(sum(is_matched_flag) as {{ dbt.type_bigint() }}) as matched_count,
        cast(sum(1 - is_matched_flag) as {{ dbt.type_bigint() }}) as unmatched_count,
        cast(sum(is_explicit_id_flag) as {{ dbt.type_bigint() }}) as explicit_id_match_count,
        cast(sum(is_contact_email_flag) as {{ dbt.type_bigint() }})
            as contact_email_match_count,
        cast(sum(is_domain_flag) as {{ dbt.type_bigint() }}) as domain_match_count,
        cast(sum(is_ambiguous_flag) as {{ dbt.type_bigint() }}) as ambiguous_domain_count
    from flagged
    group by source_system

),

final as (

    select
        *,
        cast(matched_count as double) / nullif(record_count, 0) as matched_share
    from coverage

)

select * from final
