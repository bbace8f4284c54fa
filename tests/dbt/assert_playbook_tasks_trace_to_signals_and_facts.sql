-- Every task must be traceable: its opening signal row exists in
-- fct_account_signals with the same evidence, and that day exists in the
-- daily facts the signal was computed from. Returns the tasks that are not.


-- The test reads several models; Dagster shows it as a check on the one it
-- guards.
{{ config(meta={'dagster': {'ref': {'name': 'fct_playbook_tasks'}}}) }}

with

tasks as (

    select * from {{ ref('fct_playbook_tasks') }}

),

signals as (

    select * from {{ ref('fct_account_signals') }}

),

facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

untraced as (

    select
        tasks.task_key,
        tasks.account_id,
        tasks.signal_type,
        tasks.signal_date
    from tasks
    left join signals
        on
            tasks.account_id = signals.account_id
            and tasks.signal_type = signals.signal_type
            and tasks.signal_date = signals.date_day
            and tasks.evidence_text = signals.evidence_text
    left join facts
        on
            tasks.account_id = facts.account_id
            and tasks.signal_date = facts.date_day
    where signals.account_id is null or facts.account_id is null

)

select * from untraced
