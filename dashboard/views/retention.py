"""Retention: cohort heatmaps of GRR and NRR, and the MRR bridge as a waterfall, by segment."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, ui

COHORTS = "marts.fct_retention_cohorts"
MOVEMENTS = "marts.fct_mrr_movements_monthly"

# The bridge's steps in order, with the sign each adds to the starting MRR.
BRIDGE_STEPS = [
    ("new", "new_mrr", 1),
    ("expansion", "expansion_mrr", 1),
    ("reactivation", "reactivation_mrr", 1),
    ("contraction", "contraction_mrr", -1),
    ("churn", "churned_mrr", -1),
]

st.title("Retention")
filters = ui.current_filters()
st.caption(
    f"{', '.join(filters.segments) or 'all segments'}. These marts have a segment grain: "
    "the owner filter does not apply."
)
range_params = {"start": filters.start_date, "end": filters.end_date, **filters.params()}


def cohort_heatmap(frame: pd.DataFrame, measure: str, title: str) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("months_since_start:O", title="Months since the cohort's first month"),
            y=alt.Y("yearmonth(cohort_month):O", title="Cohort"),
            color=alt.Color(f"{measure}:Q", title=title, scale=alt.Scale(scheme="redyellowgreen")),
            tooltip=[
                alt.Tooltip("cohort_month:T", format="%b %Y", title="cohort"),
                "months_since_start:O",
                alt.Tooltip(f"{measure}:Q", format=".1%"),
                alt.Tooltip("starting_mrr:Q", format="$,.0f"),
            ],
        )
        .properties(title=title)
    )


with ui.section("Cohorts"):
    # Rates are not additive across segments: add up the components of the
    # selected segments and divide once, as the mart's `all` rows do.
    cohorts = data.read(
        f"""
        select
            cohort_month,
            months_since_start,
            sum(starting_mrr) as starting_mrr,
            sum(gross_retained_mrr) / nullif(sum(starting_mrr), 0) as grr,
            sum(net_retained_mrr) / nullif(sum(starting_mrr), 0) as nrr
        from {COHORTS}
        where segment <> 'all' and {data.SEGMENT_FILTER}
            and ($start::date is null or cohort_month >= date_trunc('month', $start::date))
            and ($end::date is null or cohort_month <= $end::date)
        group by all
        order by all
        """,
        range_params,
    )
    data.require_rows(cohorts, "cohorts starting in the date range")
    left, right = st.columns(2)
    left.altair_chart(cohort_heatmap(cohorts, "grr", "GRR"))
    right.altair_chart(cohort_heatmap(cohorts, "nrr", "NRR"))
    st.caption(
        ui.source(COHORTS) + ": each cohort's retained MRR over its starting MRR, month by "
        "month; GRR caps each account at its starting MRR, NRR does not."
    )

with ui.section("MRR bridge"):
    bridge = data.read(
        f"""
        select month_start_date, segment, starting_mrr, new_mrr, expansion_mrr,
            reactivation_mrr, contraction_mrr, churned_mrr, ending_mrr, net_new_mrr
        from {MOVEMENTS}
        where {data.SEGMENT_FILTER}
            and ($start::date is null or month_start_date >= date_trunc('month', $start::date))
            and ($end::date is null or month_start_date <= $end::date)
        order by month_start_date, segment
        """,
        range_params,
    )
    data.require_rows(bridge, "MRR movements in the date range")
    months = sorted(bridge["month_start_date"].unique(), reverse=True)
    month = st.selectbox(
        "Month",
        months,
        format_func=lambda value: f"{pd.Timestamp(value):%B %Y}",
        key="retention_bridge_month",
    )
    in_month = bridge[bridge["month_start_date"] == month]
    totals = in_month.drop(columns=["month_start_date", "segment"]).astype(float).sum()

    steps = [("start", 0.0, float(totals["starting_mrr"]))]
    level = float(totals["starting_mrr"])
    for name, column, sign in BRIDGE_STEPS:
        change = sign * float(totals[column])
        steps.append((name, level, level + change))
        level += change
    steps.append(("end", 0.0, float(totals["ending_mrr"])))
    waterfall = pd.DataFrame(steps, columns=["step", "from_mrr", "to_mrr"])
    waterfall["amount"] = waterfall["to_mrr"] - waterfall["from_mrr"]
    waterfall["kind"] = [
        "total" if step in ("start", "end") else ("gain" if amount >= 0 else "loss")
        for step, amount in zip(waterfall["step"], waterfall["amount"], strict=True)
    ]
    chart = (
        alt.Chart(waterfall)
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=list(waterfall["step"]), title=None),
            y=alt.Y("from_mrr:Q", title="MRR"),
            y2="to_mrr:Q",
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["total", "gain", "loss"], range=["#5b7bb4", "#2e9d5b", "#d1453b"]
                ),
                legend=None,
            ),
            tooltip=["step:N", alt.Tooltip("amount:Q", format="$,.0f")],
        )
    )
    st.altair_chart(chart)
    per_segment = in_month.drop(columns=["month_start_date"]).set_index("segment")
    st.dataframe(per_segment)
    st.caption(
        ui.source(MOVEMENTS) + f": {pd.Timestamp(month):%B %Y}, start + new + expansion + "
        "reactivation − contraction − churn = end; the table gives each segment's bridge."
    )
