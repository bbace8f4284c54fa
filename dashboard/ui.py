"""What every page shares: the sidebar filters, plain messages instead of errors, formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data

BAND_ORDER = ["green", "yellow", "red"]
BAND_COLORS = alt.Scale(domain=BAND_ORDER, range=["#2e9d5b", "#e3b21c", "#d1453b"])

# Widget keys of the sidebar filters; pages read them from the session state,
# so a page script run on its own (as the tests do) sees no restriction.
SEGMENTS_KEY = "filter_segments"
OWNERS_KEY = "filter_owners"
DATES_KEY = "filter_dates"

# What the date filter covers by default: a year back from the last scored day.
DEFAULT_DAYS_BACK = 365


@contextmanager
def section(title: str | None = None) -> Iterator[None]:
    """A block of a page; missing data shows a plain message and the rest of the page goes on."""
    if title:
        st.subheader(title)
    try:
        yield
    except data.DataUnavailable as exc:
        st.info(str(exc))


def source(*marts: str) -> str:
    """The caption naming the marts a block's numbers come from."""
    return "Source: " + ", ".join(f"`{mart}`" for mart in marts)


def money(value: object) -> str:
    """Dollars, the sign first ("-$7,095"): Streamlit colours a metric's
    delta by its leading character, so "$-7,095" would show as a rise."""
    if value is None or pd.isna(value):
        return "–"
    amount = float(value)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.0f}"


def share(value: object) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):.1%}"


def points_delta(now: object, before: object, scale: float = 100.0) -> str | None:
    """The change in percentage points between two shares, or None when either is unknown."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    return f"{(float(now) - float(before)) * scale:+.1f} pts"


def sidebar_filters() -> None:
    """Segment, owner and date widgets; their values live in the session state."""
    st.sidebar.header("Filters")
    try:
        accounts = data.read(
            "select distinct segment, owner_name from marts.dim_accounts "
            "order by segment, owner_name"
        )
        bounds = data.read(
            "select min(date_day) as first_day, max(date_day) as last_day "
            "from marts.fct_account_health_daily"
        )
    except data.DataUnavailable as exc:
        st.sidebar.info(str(exc))
        return
    st.sidebar.multiselect(
        "Segment",
        sorted(accounts["segment"].dropna().unique()),
        key=SEGMENTS_KEY,
        placeholder="All segments",
    )
    st.sidebar.multiselect(
        "Owner",
        sorted(accounts["owner_name"].dropna().unique()),
        key=OWNERS_KEY,
        placeholder="All owners",
    )
    first_day, last_day = bounds["first_day"].iloc[0], bounds["last_day"].iloc[0]
    if pd.isna(first_day) or pd.isna(last_day):
        return
    first_day, last_day = pd.Timestamp(first_day).date(), pd.Timestamp(last_day).date()
    default_start = max(first_day, last_day - dt.timedelta(days=DEFAULT_DAYS_BACK))
    st.sidebar.date_input(
        "Dates",
        value=(default_start, last_day),
        min_value=first_day,
        max_value=last_day,
        key=DATES_KEY,
        help="Snapshots (bands, scores, queues) are read on the end date; "
        "histories cover the whole range.",
    )


def publication_caption() -> None:
    """Which serving copy the numbers come from, and when it was published when that is known."""
    path = data.serving_path()
    try:
        if "serving.publication" in data.existing_tables(["serving.publication"]):
            latest = data.read(
                "select * from serving.publication order by published_at desc limit 1"
            )
            if not latest.empty:
                row = latest.iloc[0]
                st.sidebar.caption(
                    f"Serving copy `{path}`, as of {row.get('as_of_date')}, "
                    f"published {row.get('published_at')} (`serving.publication`)."
                )
                return
        st.sidebar.caption(f"Serving copy `{path}` (no publication record in it).")
    except data.DataUnavailable:
        return


def current_filters() -> data.Filters:
    dates = st.session_state.get(DATES_KEY) or ()
    # While a range is being picked the widget holds only its first day.
    start = dates[0] if len(dates) >= 1 else None
    end = dates[1] if len(dates) == 2 else None
    return data.Filters(
        segments=tuple(st.session_state.get(SEGMENTS_KEY) or ()),
        owners=tuple(st.session_state.get(OWNERS_KEY) or ()),
        start_date=start,
        end_date=end,
    )


def describe(filters: data.Filters) -> str:
    """The filters in words, for the caption under a page title."""
    segments = ", ".join(filters.segments) or "all segments"
    owners = ", ".join(filters.owners) or "all owners"
    return f"{segments}; {owners}"
