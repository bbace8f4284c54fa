"""Account 360: one account's score and why, usage, support, sentiment, revenue and journey."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, ui

ACCOUNTS = "marts.dim_accounts"
HEALTH = "marts.fct_account_health_daily"
COMPONENTS = "marts.fct_account_health_components_daily"
THRESHOLDS = "reference.health_component_thresholds"
USAGE = "marts.fct_account_usage_weekly"
MRR = "marts.fct_account_mrr_monthly"
JOURNEY = "marts.fct_account_journey"
SIGNALS = "marts.fct_account_signals"
TASKS = "marts.fct_playbook_tasks"
PLANS = "marts.fct_success_plans"

# The journey's gates in the order an account passes them (docs/journey.md).
GATES = [
    ("contract start", "contract_start_date"),
    ("first paid", "first_paid_date"),
    ("onboarded", "onboarding_completed_date"),
    ("first value", "first_value_date"),
    ("consistent adoption", "consistent_adoption_date"),
    ("first expansion", "first_expansion_date"),
    ("first renewal", "first_renewal_date"),
]

st.title("Account 360")
filters = ui.current_filters()


def date_range_clause(column: str) -> str:
    return (
        f"($start::date is null or {column} >= $start::date) "
        f"and ($end::date is null or {column} <= $end::date)"
    )


def threshold_bands(version: str, segment: str) -> dict[str, str]:
    """Each component's bands in words ("< -0.3: 0 · -0.3 to -0.1: 50 · ≥ -0.1: 100")."""
    if THRESHOLDS not in data.existing_tables([THRESHOLDS]):
        return {}
    bands = data.read(
        f"""
        select component, min_value, max_value, points
        from {THRESHOLDS}
        where config_version = $version and segment = $segment
        order by component, coalesce(min_value, -1e300)
        """,
        {"version": version, "segment": segment},
    )
    words: dict[str, list[str]] = {}
    for row in bands.itertuples():
        if pd.isna(row.min_value):
            edge = f"< {row.max_value:g}"
        elif pd.isna(row.max_value):
            edge = f"≥ {row.min_value:g}"
        else:
            edge = f"{row.min_value:g} to {row.max_value:g}"
        words.setdefault(row.component, []).append(f"{edge}: {row.points}")
    return {component: " · ".join(parts) for component, parts in words.items()}


# Stays None when no account can be chosen; the page then ends after the message.
account_id = None
with ui.section():
    accounts = data.read(
        f"""
        select account_id, account_name, segment, owner_name
        from {ACCOUNTS}
        where account_id in (select account_id from {HEALTH}) and {data.ACCOUNT_FILTER}
        order by account_name, account_id
        """,
        filters.params(),
    )
    data.require_rows(accounts, "scored accounts")
    labels = {
        row.account_id: f"{row.account_name} ({row.account_id})"
        for row in accounts.itertuples()
    }
    account_id = st.selectbox(
        "Account", list(labels), format_func=labels.get, key="account_360_account"
    )
    account = accounts.set_index("account_id").loc[account_id]
    params = {"account": account_id, "start": filters.start_date, "end": filters.end_date}
    st.caption(f"{account['segment']} · owner {account['owner_name']} · {ui.source(ACCOUNTS)}")
if account_id is None:
    st.stop()

# The day of the latest score; None when there is none to break down.
day = None

with ui.section("Health score"):
    latest = data.read(
        f"""
        select *
        from {HEALTH}
        where account_id = $account and ($end::date is null or date_day <= $end::date)
        order by date_day desc
        limit 1
        """,
        params,
    )
    data.require_rows(latest, "health score on or before the end date")
    today = latest.iloc[0]
    day = pd.Timestamp(today["date_day"]).date()
    columns = st.columns(4)
    columns[0].metric(
        "Health score",
        f"{today['health_score']:.1f}",
        delta=None if pd.isna(today["trend_7d"]) else f"{today['trend_7d']:+.1f} in 7 days",
        help=f"Score on {day} ({HEALTH}).",
    )
    columns[1].metric("Band", str(today["health_band"]), help=f"On {day} ({HEALTH}).")
    columns[2].metric(
        "Configuration",
        str(today["config_version"]),
        help=f"Weights and thresholds version in effect on {day} ({HEALTH}).",
    )
    columns[3].metric(
        "28-day trend",
        "–" if pd.isna(today["trend_28d"]) else f"{today['trend_28d']:+.1f}",
        help=f"Score change over 28 days, same version ({HEALTH}).",
    )
    st.markdown(f"**Reason:** {today['health_reason'] or 'nothing costs the score much'}")

    history = data.read(
        f"""
        select date_day, health_score, health_band, config_version
        from {HEALTH}
        where account_id = $account and {date_range_clause('date_day')}
        order by date_day
        """,
        params,
    )
    # A marker where the configuration version changes, so a jump in the line
    # is read as a new version rather than a change in the account.
    changes = history[history["config_version"] != history["config_version"].shift()]
    line = (
        alt.Chart(history)
        .mark_line(point=False)
        .encode(
            x=alt.X("date_day:T", title="Day"),
            y=alt.Y("health_score:Q", title="Health score", scale=alt.Scale(domain=[0, 100])),
            tooltip=["date_day:T", "health_score:Q", "health_band:N", "config_version:N"],
        )
    )
    markers = alt.Chart(changes).mark_rule(strokeDash=[4, 4], color="gray").encode(
        x="date_day:T", tooltip=["date_day:T", "config_version:N"]
    )
    labels_layer = alt.Chart(changes).mark_text(align="left", dx=3, dy=-90).encode(
        x="date_day:T", text="config_version:N"
    )
    st.altair_chart(line + markers + labels_layer)
    st.caption(
        ui.source(HEALTH) + ": daily score; dashed lines mark where a configuration "
        "version starts."
    )

with ui.section("What makes today's score"):
    if day is None:
        raise data.DataUnavailable("No score on or before the end date to break down.")
    components = data.read(
        f"""
        select component, raw_value, raw_value_text, points, weight, effective_weight,
            contribution, points_lost, exclusion_reason
        from {COMPONENTS}
        where account_id = $account and date_day = $day
        order by points_lost desc nulls last, component
        """,
        {"account": account_id, "day": day},
    )
    data.require_rows(components, "score components on that day")
    bands = threshold_bands(str(today["config_version"]), str(account["segment"]))
    components.insert(3, "thresholds (value: points)", components["component"].map(bands))
    st.dataframe(components, hide_index=True)
    threshold_note = (
        f" Thresholds from `{THRESHOLDS}`."
        if bands
        else " The serving copy carries no threshold table; the bands are in the seed "
        "health_component_thresholds (docs/health_score.md)."
    )
    st.caption(
        ui.source(COMPONENTS) + f" on {day}: contributions sum to the score." + threshold_note
    )

with ui.section("Usage, support and sentiment"):
    usage = data.read(
        f"""
        select week_start_date, events, active_users, key_feature_events
        from {USAGE}
        where account_id = $account and {date_range_clause('week_start_date')}
        order by week_start_date
        """,
        params,
    )
    data.require_rows(usage, "weekly usage")
    st.line_chart(usage, x="week_start_date", y=["events", "active_users", "key_feature_events"])
    st.caption(ui.source(USAGE) + ": events, active users and key-feature events per week.")
    support = data.read(
        f"""
        select date_day, component, raw_value
        from {COMPONENTS}
        where account_id = $account and component in ('support_load', 'sentiment')
            and {date_range_clause('date_day')}
        order by date_day
        """,
        params,
    )
    wide = support.pivot_table(index="date_day", columns="component", values="raw_value")
    left, right = st.columns(2)
    with left:
        if "support_load" in wide:
            st.line_chart(wide["support_load"].rename("tickets"))
        st.caption(
            ui.source(COMPONENTS) + ": support_load, urgent or high tickets open plus "
            "urgent tickets created in 30 days."
        )
    with right:
        if "sentiment" in wide:
            st.line_chart(wide["sentiment"].rename("NPS / CSAT on 0–10"))
        st.caption(
            ui.source(COMPONENTS) + ": sentiment, the latest NPS answer, else the 90-day "
            "CSAT average on the same 0–10 scale; gaps are days without an answer."
        )

with ui.section("MRR history"):
    mrr = data.read(
        f"""
        select month_start_date, mrr, movement_type, mrr_change, plan_name
        from {MRR}
        where account_id = $account
        order by month_start_date
        """,
        params,
    )
    data.require_rows(mrr, "MRR months")
    st.bar_chart(mrr, x="month_start_date", y="mrr")
    st.caption(ui.source(MRR) + ": MRR per month, every month since the first with MRR.")

with ui.section("Journey"):
    journey = data.read(f"select * from {JOURNEY} where account_id = $account", params)
    data.require_rows(journey, "journey record")
    stage = journey.iloc[0]
    gates = pd.DataFrame(
        {"gate": [name for name, _ in GATES], "date": [stage[col] for _, col in GATES]}
    )
    stalled = (
        f"stalled at {stage['stalled_at_gate']}, {stage['stalled_days_overdue']} days overdue"
        if stage["is_stalled"]
        else "not stalled"
    )
    st.markdown(f"**Stage:** {stage['current_stage']} ({stalled})")
    st.dataframe(gates, hide_index=True)
    st.caption(ui.source(JOURNEY) + ": the date each gate was passed; empty means not yet.")

with ui.section("Signals"):
    signals = data.read(
        f"""
        select signal_type, count(*) as active_days, min(date_day) as first_day,
            max(date_day) as last_day, arg_max(evidence_text, date_day) as latest_evidence
        from {SIGNALS}
        where account_id = $account and {date_range_clause('date_day')}
        group by signal_type
        order by last_day desc
        """,
        params,
    )
    data.require_rows(signals, "signals in the date range")
    st.dataframe(signals, hide_index=True)
    st.caption(ui.source(SIGNALS) + ": days each signal was active, with its latest evidence.")

with ui.section("Playbook tasks"):
    tasks = data.read(
        f"""
        select playbook, task_subject, status, priority, opened_date, due_date,
            closed_date, owner_name, evidence_text
        from {TASKS}
        where account_id = $account
        order by status desc, opened_date desc
        """,
        params,
    )
    data.require_rows(tasks, "playbook tasks")
    st.dataframe(tasks, hide_index=True)
    st.caption(ui.source(TASKS))

with ui.section("Success plan"):
    plans = data.read(
        f"""
        select objective, target_metric, baseline_value, current_value, target_value,
            target_date, progress_share, time_elapsed_share, status
        from {PLANS}
        where account_id = $account
        order by target_date
        """,
        params,
    )
    data.require_rows(plans, "success plan objectives")
    st.dataframe(
        plans,
        hide_index=True,
        column_config={
            "progress_share": st.column_config.ProgressColumn("Progress", format="percent"),
            "time_elapsed_share": st.column_config.ProgressColumn("Time elapsed", format="percent"),
        },
    )
    st.caption(ui.source(PLANS))
