with

source as (

    select * from {{ source('zendesk', 'organization') }}

),

-- The connector re-syncs changed organizations; only the latest version's
-- domains are current.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

current_organizations as (

    select
        id as organization_id,
        domain_names
    from latest
    where version_rank = 1

),

-- domain_names is a JSON array: one row per element.
domain_names as (

    {{ json_array_elements_text(
        'current_organizations', 'domain_names', ['organization_id'], 'domain_name'
    ) }}

),

normalized as (

    select
        organization_id,
        {{ normalize_domain('domain_name') }} as domain  -- noqa: RF04
    from domain_names

),

-- "acme.io" and "www.acme.io" normalize to the same domain; keep it once.
deduplicated as (

    select distinct
        organization_id,
        domain
    from normalized
    where domain is not null

)

select * from deduplicated
