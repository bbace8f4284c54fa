with

tasks as (

    select * from {{ ref('fct_playbook_tasks') }}

),

-- Open tasks, and tasks closed recently enough that their completion still
-- has to reach the CRM; older closed tasks were completed there long ago.
recent_tasks as (

    select *
    from tasks
    where
        status = 'open'
        or closed_date > {{ dbt.dateadd(
            'day', -var('crm_task_closed_lookback_days', 30), as_of_date()
        ) }}

),

final as (

    select
        cast(task_key as {{ dbt.type_string() }}) as task_key,
        cast(account_id as {{ dbt.type_bigint() }}) as account_id,
        cast(playbook as {{ dbt.type_string() }}) as playbook,
        cast(owner_id as {{ dbt.type_bigint() }}) as owner_id,
        cast(task_subject as {{ dbt.type_string() }}) as task_subject,
        cast({{ dbt.concat([
            "'Playbook '",
            'playbook',
            "', opened '",
            'cast(opened_date as ' ~ dbt.type_string() ~ ')',
            "': '",
            "coalesce(evidence_text, 'no evidence recorded')",
        ]) }} as {{ dbt.type_string() }}) as task_body,
        cast(
            case when status = 'open' then 'NOT_STARTED' else 'COMPLETED' end
            as {{ dbt.type_string() }}
        ) as task_status,
        cast(upper(priority) as {{ dbt.type_string() }}) as task_priority,
        -- The CRM has no meeting task: a meeting task is a to-do to book one.
        cast(
            case
                when task_type = 'call' then 'CALL'
                when task_type = 'email' then 'EMAIL'
                else 'TODO'
            end as {{ dbt.type_string() }}
        ) as task_type,
        cast(coalesce(due_date, opened_date) as {{ dbt.type_timestamp() }}) as due_at,
        cast(opened_date as date) as opened_date,
        cast(closed_date as date) as closed_date
    from recent_tasks

)

select * from final
