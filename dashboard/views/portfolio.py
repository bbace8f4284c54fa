"""Portfolio: health bands by segment, the band mix over time, MRR, retention and churn."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, ui

HEALTH = "marts.fct_account_health_daily"
MRR = "marts.fct_account_mrr_monthly"
TRAILING = "marts.fct_retention_trailing"

st.title("Portfolio")
filters = ui.current_filters()
st.caption(ui.describe(filters))


def band_counts(day: dt.date) -> pd.Series:
    counts = data.read(
        f"""
        select health_band, count(*) as accounts
        from {HEALTH}
        where date_day = $day and {data.ACCOUNT_FILTER}
        group by health_band
        """,
        {"day": day, **filters.params()},
    )
    return counts.set_index("health_band")["accounts"].reindex(ui.BAND_ORDER, fill_value=0)


def month_figures(month: dt.date) -> dict[str, object]:
    """MRR of the filtered accounts and the trailing retention of the selected segments."""
    mrr = data.read(
        f"""
        select coalesce(sum(mrr), 0) as mrr, count(*) filter (where mrr > 0) as paying
        from {MRR}
        where month_start_date = $month and {data.ACCOUNT_FILTER}
        """,
        {"month": month, **filters.params()},
    )
    # Rates are not additive: add up the selected segments' components (as the
    # mart's own `all` rows do) and divide once.
    retention = data.read(
        f"""
        select
            sum(t12m_gross_retained_mrr) / nullif(sum(t12m_starting_mrr), 0) as grr,
            sum(t12m_net_retained_mrr) / nullif(sum(t12m_starting_mrr), 0) as nrr,
            sum(churned_logos) / nullif(sum(starting_logos), 0) as logo_churn,
            sum(churned_logos) as churned_logos
        from {TRAILING}
        where month_start_date = $month and segment <> 'all' and {data.SEGMENT_FILTER}
        """,
        {"month": month, **filters.params()},
    )
    return {**mrr.iloc[0].to_dict(), **retention.iloc[0].to_dict()}


with ui.section():
    as_of = data.latest_health_date(filters.end_date)
    month_before = as_of - pd.DateOffset(months=1)
    st.markdown(f"**As of {as_of:%Y-%m-%d}**, compared with {month_before:%Y-%m-%d}.")

    now = band_counts(as_of)
    before = band_counts(month_before.date())
    if now.sum() == 0:
        raise data.DataUnavailable("No scored accounts on that day for the selected filters.")
    columns = st.columns(4)
    for column, band in zip(columns, ui.BAND_ORDER, strict=False):
        column.metric(
            f"{band.capitalize()} accounts",
            int(now[band]),
            delta=int(now[band] - before[band]),
            delta_color="inverse" if band != "green" else "normal",
            help=f"Accounts in band {band} on {as_of} ({HEALTH}).",
        )
    columns[3].metric(
        "Scored accounts",
        int(now.sum()),
        delta=int(now.sum() - before.sum()),
        help=f"Accounts with a health score on {as_of} ({HEALTH}).",
    )

    by_segment = data.read(
        f"""
        select segment, health_band, count(*) as accounts
        from {HEALTH}
        where date_day = $day and {data.ACCOUNT_FILTER}
        group by all
        """,
        {"day": as_of, **filters.params()},
    )
    table = (
        by_segment.pivot_table(
            index="segment", columns="health_band", values="accounts", fill_value=0
        )
        .reindex(columns=ui.BAND_ORDER, fill_value=0)
        .astype(int)
    )
    table["total"] = table.sum(axis=1)
    st.dataframe(table)
    st.caption(ui.source(HEALTH) + f": accounts by segment and band on {as_of}.")

with ui.section("Revenue and retention"):
    as_of = data.latest_health_date(filters.end_date)
    month = as_of.replace(day=1)
    previous = (pd.Timestamp(month) - pd.DateOffset(months=1)).date()
    this, last = month_figures(month), month_figures(previous)
    columns = st.columns(4)
    columns[0].metric(
        f"MRR {month:%b %Y}",
        ui.money(this["mrr"]),
        delta=ui.money(float(this["mrr"]) - float(last["mrr"])),
        help=f"Sum of mrr of the filtered accounts in the month ({MRR}); "
        f"{int(this['paying'])} paying accounts.",
    )
    columns[1].metric(
        "Trailing 12-month GRR",
        ui.share(this["grr"]),
        delta=ui.points_delta(this["grr"], last["grr"]),
        help=f"t12m gross retained MRR / t12m starting MRR of the selected segments ({TRAILING}).",
    )
    columns[2].metric(
        "Trailing 12-month NRR",
        ui.share(this["nrr"]),
        delta=ui.points_delta(this["nrr"], last["nrr"]),
        help=f"t12m net retained MRR / t12m starting MRR of the selected segments ({TRAILING}).",
    )
    columns[3].metric(
        "Logo churn in the month",
        ui.share(this["logo_churn"]),
        delta=ui.points_delta(this["logo_churn"], last["logo_churn"]),
        delta_color="inverse",
        help=f"Churned logos / logos at the month's start ({TRAILING}); "
        f"{int(this['churned_logos'] or 0)} churned.",
    )
    st.caption(
        ui.source(MRR, TRAILING)
        + ". MRR follows the segment and owner filters; retention and churn are "
        "segment-level marts, so the owner filter does not apply to them."
    )

with ui.section("Band mix over time"):
    as_of = data.latest_health_date(filters.end_date)
    mix = data.read(
        f"""
        select date_day, health_band, count(*) as accounts
        from {HEALTH}
        where date_day <= $day
            and ($start::date is null or date_day >= $start::date)
            and {data.ACCOUNT_FILTER}
        group by all
        order by date_day
        """,
        {"day": as_of, "start": filters.start_date, **filters.params()},
    )
    data.require_rows(mix, "health scores in the date range")
    chart = (
        alt.Chart(mix)
        .mark_area()
        .encode(
            x=alt.X("date_day:T", title="Day"),
            y=alt.Y("accounts:Q", stack="normalize", title="Share of scored accounts"),
            color=alt.Color("health_band:N", scale=ui.BAND_COLORS, title="Band"),
            order=alt.Order("band_rank:Q"),
            tooltip=["date_day:T", "health_band:N", "accounts:Q"],
        )
        .transform_calculate(
            band_rank="indexof(['green', 'yellow', 'red'], datum.health_band)"
        )
    )
    st.altair_chart(chart)
    st.caption(ui.source(HEALTH) + ": share of scored accounts per band, day by day.")
