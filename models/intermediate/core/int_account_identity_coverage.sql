with

identity as (

    select * from {{ ref('int_account_identity') }}

),

coverage as (

    select
        source_system,
        count(*) as record_count,
        sum(case when is_matched then 1 else 0 end) as matched_count,
        sum(case when not is_matched then 1 else 0 end) as unmatched_count,
        sum(case when match_method = 'explicit_id' then 1 else 0 end)
            as explicit_id_match_count,
        sum(case when match_method = 'contact_email' then 1 else 0 end)
            as contact_email_match_count,
        sum(case when match_method in ('email_domain', 'web_domain') then 1 else 0 end)
            as domain_match_count,
        sum(case when match_method = 'ambiguous_domain' then 1 else 0 end)
            as ambiguous_domain_count
    from identity
    group by source_system

),

final as (

    select
        *,
        cast(matched_count as double) / nullif(record_count, 0) as matched_share
    from coverage

)

select * from final
