"""Onboarding and time to value: the journey funnel, stalled accounts, TTV by segment and cohort."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import data, ui

JOURNEY = "marts.fct_account_journey"
TTV = "marts.fct_time_to_value"
TTV_SUMMARY = "marts.fct_time_to_value_summary"

# The gates in journey order (docs/journey.md) and the column holding the day each was reached.
FUNNEL = [
    ("contract started", "contract_start_date"),
    ("onboarded", "onboarding_completed_date"),
    ("first value", "first_value_date"),
    ("adopted", "consistent_adoption_date"),
    ("expanded", "first_expansion_date"),
    ("renewed", "first_renewal_date"),
]

st.title("Onboarding and time to value")
filters = ui.current_filters()
st.caption(ui.describe(filters) + "; accounts whose contract started in the date range.")
params = {"start": filters.start_date, "end": filters.end_date, **filters.params()}
STARTED_IN_RANGE = (
    "($start::date is null or contract_start_date >= $start::date) "
    "and ($end::date is null or contract_start_date <= $end::date)"
)

with ui.section("Journey funnel"):
    counts = ", ".join(f"count({column}) as \"{gate}\"" for gate, column in FUNNEL)
    funnel = data.read(
        f"select {counts} from {JOURNEY} where {STARTED_IN_RANGE} and {data.ACCOUNT_FILTER}",
        params,
    )
    funnel = funnel.T.reset_index()
    funnel.columns = ["gate", "accounts"]
    if funnel["accounts"].iloc[0] == 0:
        raise data.DataUnavailable("No contracts started in the date range for these filters.")
    funnel["share of starts"] = funnel["accounts"] / funnel["accounts"].iloc[0]
    chart = (
        alt.Chart(funnel)
        .mark_bar()
        .encode(
            y=alt.Y("gate:N", sort=[gate for gate, _ in FUNNEL], title=None),
            x=alt.X("accounts:Q", title="Accounts that reached the gate"),
            tooltip=["gate:N", "accounts:Q", alt.Tooltip("share of starts:Q", format=".0%")],
        )
    )
    st.altair_chart(chart)
    st.dataframe(funnel, hide_index=True)
    st.caption(ui.source(JOURNEY) + ": accounts with a date for each gate.")

with ui.section("Stalled accounts"):
    stalled = data.read(
        f"""
        select account_id, account_name, segment, owner_name, current_stage,
            stalled_at_gate, stalled_gate_due_date, stalled_days_overdue, contract_start_date
        from {JOURNEY}
        where is_stalled and {STARTED_IN_RANGE} and {data.ACCOUNT_FILTER}
        order by stalled_days_overdue desc
        """,
        params,
    )
    data.require_rows(stalled, "stalled accounts")
    where = stalled.groupby("stalled_at_gate").size().rename("accounts").reset_index()
    left, right = st.columns([1, 3])
    left.dataframe(where, hide_index=True)
    right.dataframe(stalled, hide_index=True)
    st.caption(
        ui.source(JOURNEY) + ": each stalled account at its first overdue gate, on the last "
        "day the warehouse describes."
    )

with ui.section("Time to value by segment"):
    ttv = data.read(
        f"""
        select account_id, segment, strftime(cohort_month, '%Y-%m') as cohort,
            days_to_first_value, days_to_full_value
        from {TTV}
        where {STARTED_IN_RANGE} and {data.ACCOUNT_FILTER}
        """,
        params,
    )
    data.require_rows(ttv.dropna(subset=["days_to_first_value"]), "accounts with first value")
    long = ttv.melt(
        id_vars=["segment", "cohort"],
        value_vars=["days_to_first_value", "days_to_full_value"],
        var_name="milestone",
        value_name="days",
    ).dropna(subset=["days"])
    chart = (
        alt.Chart(long)
        .mark_boxplot(extent="min-max")
        .encode(
            x=alt.X("days:Q", title="Days from contract start"),
            y=alt.Y("segment:N", title=None),
            color=alt.Color("milestone:N", title=None),
            yOffset="milestone:N",
        )
    )
    st.altair_chart(chart)
    st.caption(
        ui.source(TTV) + ": days to first value (first key-feature event) and to full value "
        "(consistent adoption) among the accounts that reached them."
    )

with ui.section("Time to value by cohort"):
    summary = data.read(
        f"""
        select segment, strftime(cohort_month, '%Y-%m') as cohort, account_count,
            first_value_share, median_days_to_first_value, p75_days_to_first_value,
            full_value_share, median_days_to_full_value, p75_days_to_full_value
        from {TTV_SUMMARY}
        where {data.SEGMENT_FILTER}
            and ($start::date is null or cohort_month >= date_trunc('month', $start::date))
            and ($end::date is null or cohort_month <= $end::date)
        order by cohort_month, segment
        """,
        params,
    )
    data.require_rows(summary, "cohorts in the date range")
    st.dataframe(
        summary,
        hide_index=True,
        column_config={
            "first_value_share": st.column_config.NumberColumn(format="percent"),
            "full_value_share": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(
        ui.source(TTV_SUMMARY) + ": a young cohort's percentiles describe only its fastest "
        "accounts; read them beside the shares. Segment grain: the owner filter does not apply."
    )
