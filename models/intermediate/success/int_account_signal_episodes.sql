with

signals as (

    select * from {{ ref('fct_account_signals') }}

),

daily_facts as (

    select * from {{ ref('int_account_daily_facts') }}

),

-- The last day the facts describe: an episode still active on it is open.
last_fact_day as (

    select max(date_day) as last_date_day
    from daily_facts

),

-- A day starts an episode unless the same signal was active the day before.
episode_starts as (

    select
        account_id,
        signal_type,
        date_day,
        case
            when
                lag(date_day) over (
                    partition by account_id, signal_type
                    order by date_day
                ) = {{ dbt.dateadd('day', -1, 'date_day') }}
                then 0
            else 1
        end as is_episode_start
    from signals

),

numbered as (

    select
        *,
        sum(is_episode_start) over (
            partition by account_id, signal_type
            order by date_day
            rows between unbounded preceding and current row
        ) as episode_number
    from episode_starts

),

episodes as (

    select
        account_id,
        signal_type,
        episode_number,
        min(date_day) as episode_start_date,
        max(date_day) as episode_end_date,
        count(*) as active_days
    from numbered
    group by account_id, signal_type, episode_number

),

final as (

    select
        episodes.account_id,
        episodes.signal_type,
        cast(episodes.episode_number as {{ dbt.type_int() }}) as episode_number,
        episodes.episode_start_date,
        episodes.episode_end_date,
        cast(episodes.active_days as {{ dbt.type_int() }}) as active_days,
        episodes.episode_end_date >= last_fact_day.last_date_day as is_open
    from episodes
    cross join last_fact_day

)

select * from final
