with

episodes as (

    select * from {{ ref('int_account_signal_episodes') }}

),

signals as (

    select * from {{ ref('fct_account_signals') }}

),

playbooks as (

    select * from {{ ref('playbooks') }}

),

accounts as (

    select * from {{ ref('dim_accounts') }}

),

playbook_episodes as (

    select
        episodes.account_id,
        episodes.signal_type,
        episodes.episode_start_date,
        episodes.episode_end_date,
        episodes.is_open,
        playbooks.playbook,
        playbooks.cooldown_days,
        lag(episodes.episode_end_date) over (
            partition by episodes.account_id, playbooks.playbook
            order by episodes.episode_start_date
        ) as previous_episode_end_date
    from episodes
    inner join playbooks
        on episodes.signal_type = playbooks.signal_type

),

-- The cooldown: an episode that starts at most cooldown_days days after the
-- previous episode's task closed (closed_date = previous end + 1) reopens
-- that task instead of opening a new one.
task_starts as (

    select
        *,
        case
            when previous_episode_end_date is null then 1
            when
                {{ days_between('previous_episode_end_date', 'episode_start_date') }} - 1
                <= cooldown_days
                then 0
            else 1
        end as is_new_task
    from playbook_episodes

),

numbered as (

    select
        *,
        sum(is_new_task) over (
            partition by account_id, playbook
            order by episode_start_date
            rows between unbounded preceding and current row
        ) as task_number
    from task_starts

),

-- Only an account's latest episode can still be running, so only the last
-- task of an account and playbook can be open.
tasks as (

    select
        account_id,
        playbook,
        signal_type,
        task_number,
        min(episode_start_date) as opened_date,
        max(episode_start_date) as last_opened_date,
        max(episode_end_date) as last_active_date,
        count(*) as episode_count,
        max(case when is_open then 1 else 0 end) = 1 as is_open
    from numbered
    group by account_id, playbook, signal_type, task_number

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'cast(tasks.account_id as ' ~ dbt.type_string() ~ ')',
            "'|'",
            'tasks.playbook',
            "'|'",
            'cast(tasks.opened_date as ' ~ dbt.type_string() ~ ')',
        ])) }} as task_key,
        cast(tasks.account_id as {{ dbt.type_bigint() }}) as account_id,
        cast(tasks.playbook as {{ dbt.type_string() }}) as playbook,
        cast(playbooks.task_type as {{ dbt.type_string() }}) as task_type,
        cast(playbooks.task_subject as {{ dbt.type_string() }}) as task_subject,
        cast(playbooks.priority as {{ dbt.type_string() }}) as priority,
        cast(case when tasks.is_open then 'open' else 'closed' end as {{ dbt.type_string() }})
            as status,
        cast(tasks.opened_date as date) as opened_date,
        cast({{ dbt.dateadd('day', 'playbooks.due_in_days', 'tasks.opened_date') }} as date)
            as due_date,
        cast(
            case
                when not tasks.is_open
                    then {{ dbt.dateadd('day', 1, 'tasks.last_active_date') }}
            end as date
        ) as closed_date,
        cast(tasks.last_opened_date as date) as last_opened_date,
        cast(tasks.episode_count as {{ dbt.type_int() }}) as episode_count,
        cast(tasks.episode_count - 1 as {{ dbt.type_int() }}) as reopened_count,
        cast(accounts.owner_id as {{ dbt.type_bigint() }}) as owner_id,
        cast(accounts.owner_name as {{ dbt.type_string() }}) as owner_name,
        accounts.owner_id is null as is_unassigned,
        cast(tasks.signal_type as {{ dbt.type_string() }}) as signal_type,
        cast(signals.date_day as date) as signal_date,
        cast(signals.evidence_text as {{ dbt.type_string() }}) as evidence_text,
        cast(signals.events_7d as {{ dbt.type_int() }}) as events_7d,
        cast(signals.events_prev_7d as {{ dbt.type_int() }}) as events_prev_7d,
        cast(signals.usage_change_wow as decimal(18, 6)) as usage_change_wow,
        cast(signals.latest_nps_score as {{ dbt.type_int() }}) as latest_nps_score,
        cast(signals.latest_nps_date as date) as latest_nps_date,
        cast(signals.urgent_tickets_30d as {{ dbt.type_int() }}) as urgent_tickets_30d,
        cast(signals.seat_utilisation as decimal(18, 6)) as seat_utilisation,
        cast(signals.active_users_7d as {{ dbt.type_int() }}) as active_users_7d,
        cast(signals.contracted_seats as {{ dbt.type_int() }}) as contracted_seats,
        cast(signals.first_key_event_date as date) as first_key_event_date,
        cast(signals.renewal_date as date) as renewal_date,
        cast(signals.health_band as {{ dbt.type_string() }}) as health_band
    from tasks
    inner join playbooks
        on tasks.playbook = playbooks.playbook
    left join accounts
        on tasks.account_id = accounts.account_id
    -- The opening day's signal row: its evidence is why the task was opened.
    left join signals
        on
            tasks.account_id = signals.account_id
            and tasks.signal_type = signals.signal_type
            and tasks.opened_date = signals.date_day

)

select * from final
