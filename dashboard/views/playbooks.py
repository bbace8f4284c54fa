"""Playbooks: the open task queue by owner and playbook, and tasks opened and closed over time."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import data, ui

TASKS = "marts.fct_playbook_tasks"

st.title("Playbooks")
filters = ui.current_filters()
st.caption(ui.describe(filters))
params = {"start": filters.start_date, "end": filters.end_date, **filters.params()}

with ui.section("Open task queue"):
    queue = data.read(
        f"""
        select task_key, account_id, playbook, priority, task_subject, owner_name,
            opened_date, due_date, episode_count, reopened_count, evidence_text
        from {TASKS}
        where status = 'open' and {data.ACCOUNT_FILTER}
        order by due_date, priority
        """,
        params,
    )
    data.require_rows(queue, "open playbook tasks")
    by_owner = (
        queue.assign(owner_name=queue["owner_name"].fillna("unassigned"))
        .pivot_table(
            index="owner_name", columns="playbook", values="task_key", aggfunc="count",
            fill_value=0,
        )
        .astype(int)
    )
    by_owner["total"] = by_owner.sum(axis=1)
    st.metric("Open tasks", len(queue), help=f"Tasks with status open ({TASKS}).")
    st.dataframe(by_owner)
    st.dataframe(queue, hide_index=True)
    st.caption(
        ui.source(TASKS) + ": one open task per account and playbook while its signal is "
        "active on the last day the warehouse describes; the date filter does not apply."
    )

with ui.section("Opened and closed by week"):
    flow = data.read(
        f"""
        with events as (
            select playbook, 'opened' as event, opened_date as event_date
            from {TASKS}
            where {data.ACCOUNT_FILTER}
            union all
            select playbook, 'closed' as event, closed_date as event_date
            from {TASKS}
            where closed_date is not null and {data.ACCOUNT_FILTER}
        )

        select date_trunc('week', event_date) as week_start_date, event, count(*) as tasks
        from events
        where ($start::date is null or event_date >= $start::date)
            and ($end::date is null or event_date <= $end::date)
        group by all
        order by all
        """,
        params,
    )
    data.require_rows(flow, "tasks opened or closed in the date range")
    chart = (
        alt.Chart(flow)
        .mark_bar()
        .encode(
            x=alt.X("week_start_date:T", title="Week"),
            y=alt.Y("tasks:Q", title="Tasks"),
            color=alt.Color("event:N", title=None),
            xOffset="event:N",
            tooltip=["week_start_date:T", "event:N", "tasks:Q"],
        )
    )
    st.altair_chart(chart)
    totals = flow.groupby("event")["tasks"].sum()
    st.caption(
        ui.source(TASKS)
        + f": {int(totals.get('opened', 0))} opened and {int(totals.get('closed', 0))} "
        "closed in the range; a reopened task counts once, on its first opening."
    )
