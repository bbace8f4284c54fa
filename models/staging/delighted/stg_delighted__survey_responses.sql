with

source as (

    select * from {{ source('delighted', 'survey_response') }}

),

-- The connector re-syncs a response when it changes (a comment added later,
-- say); keep the latest version of each.
latest as (

    select
        *,
        {{ connector_version_rank('id') }} as version_rank
    from source

),

renamed as (

    select
        id as survey_response_id,
        person_id,
        nullif(lower(trim(email)), '') as email,
        {{ normalize_domain('email') }} as email_domain,
        lower(nullif(trim(survey_type), '')) as survey_type,
        score,
        nullif(trim(comment), '') as comment,  -- noqa: RF04
        -- person_properties is free text from the survey tool: read it only
        -- when it is a JSON object, so one malformed value cannot fail the model.
        case
            when {{ is_json_object('person_properties') }}
                then nullif(trim({{ json_text('person_properties', 'company_id') }}), '')
        end as crm_company_id,
        coalesce(
            person_properties is not null and not {{ is_json_object('person_properties') }},
            false
        ) as has_malformed_person_properties,
        created_at as responded_at,
        updated_at,
        _fivetran_synced as synced_at
    from latest
    where version_rank = 1

),

-- NPS scores run 0-10 and CSAT scores 1-5. A score outside its range is kept
-- and flagged, so it shows up in tests instead of disappearing.
scored as (

    select
        *,
        coalesce(
            (survey_type = 'nps' and score between 0 and 10)
            or (survey_type = 'csat' and score between 1 and 5),
            false
        ) as is_score_in_range
    from renamed

),

-- The NPS category of an in-range NPS score; CSAT has none.
categorized as (

    select
        *,
        case
            when survey_type = 'nps' and is_score_in_range and score >= 9 then 'promoter'
            when survey_type = 'nps' and is_score_in_range and score >= 7 then 'passive'
            when survey_type = 'nps' and is_score_in_range then 'detractor'
        end as nps_category
    from scored

)

select * from categorized
