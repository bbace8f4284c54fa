"""At risk: red and yellow accounts ranked by the MRR their band puts at risk."""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui

COMPANY_SYNC = "sync.crm_company_sync"
ACCOUNTS = "marts.dim_accounts"
TASKS = "marts.fct_playbook_tasks"

st.title("At risk")
filters = ui.current_filters()
st.caption(ui.describe(filters))

with ui.section():
    at_risk = data.read(
        f"""
        with open_tasks as (
            select
                account_id,
                string_agg(playbook || ': ' || task_subject, '; ' order by opened_date) as tasks
            from {TASKS}
            where status = 'open'
            group by account_id
        )

        select
            company.account_id,
            account.account_name,
            account.segment,
            company.health_band,
            company.health_score,
            company.mrr as mrr_at_risk,
            company.health_reason,
            account.owner_name,
            company.renewal_date,
            company.open_task_count,
            open_tasks.tasks as open_tasks
        from {COMPANY_SYNC} as company
        inner join {ACCOUNTS} as account using (account_id)
        left join open_tasks using (account_id)
        where company.health_band in ('red', 'yellow') and {data.ACCOUNT_FILTER}
        order by company.mrr desc, company.health_score, company.account_id
        """,
        filters.params(),
    )
    data.require_rows(at_risk, "red or yellow accounts")
    red = at_risk["health_band"] == "red"
    columns = st.columns(3)
    columns[0].metric(
        "MRR at risk",
        ui.money(at_risk["mrr_at_risk"].sum()),
        help=f"MRR of the red and yellow accounts ({COMPANY_SYNC}.mrr).",
    )
    columns[1].metric(
        "Red accounts",
        int(red.sum()),
        help=f"{ui.money(at_risk.loc[red, 'mrr_at_risk'].sum())} MRR ({COMPANY_SYNC}).",
    )
    columns[2].metric(
        "Yellow accounts",
        int((~red).sum()),
        help=f"{ui.money(at_risk.loc[~red, 'mrr_at_risk'].sum())} MRR ({COMPANY_SYNC}).",
    )
    st.dataframe(
        at_risk,
        hide_index=True,
        column_config={
            "account_id": st.column_config.TextColumn("Account id"),
            "mrr_at_risk": st.column_config.NumberColumn("MRR at risk", format="dollar"),
            "health_score": st.column_config.NumberColumn("Score", format="%.1f"),
            "health_reason": st.column_config.TextColumn("Reason", width="large"),
            "open_tasks": st.column_config.TextColumn("Open tasks", width="large"),
        },
    )
    st.caption(
        ui.source(COMPANY_SYNC, ACCOUNTS, TASKS)
        + ". The values the CRM receives: band, score, reason and renewal on the last day "
        "the warehouse describes, MRR in the as-of month; the date filter does not apply."
    )
