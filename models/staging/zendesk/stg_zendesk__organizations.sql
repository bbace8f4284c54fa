with

source as (

    select * from {{ source('zendesk', 'organization') }}

),

-- The connector re-syncs changed organizations; keep the latest version.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as organization_id,
        nullif(trim(name), '') as organization_name,
        cast(nullif(trim(external_id), '') as {{ dbt.type_string() }}) as crm_company_id,
        -- Text that is not a JSON array yields no domains in
        -- stg_zendesk__organization_domains; flag it so it is not lost quietly.
        coalesce(
            domain_names is not null and not {{ is_json_array('domain_names') }},
            false
        ) as has_malformed_domain_names,
        created_at,
        updated_at,
        _fivetran_synced as synced_at
    from latest
    where version_rank = 1

)

select * from renamed
