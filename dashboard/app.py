"""Entry point: `streamlit run dashboard/app.py` (docs/dashboard.md).

The sidebar filters are drawn here, before the page runs, so every page reads
the same segment, owner and date choices from the session state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on the import path, not the
# project root that holds the dashboard and orchestration packages.
PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from dashboard import ui  # noqa: E402 (needs the project root on the path first)

# Not `pages/`: Streamlit takes a folder of that name beside the main script
# for its older multipage layout and would run a page without this script's
# sidebar when one is opened by its path.
VIEWS_DIR = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="Customer Success", layout="wide")

navigation = st.navigation(
    [
        st.Page(VIEWS_DIR / "portfolio.py", title="Portfolio", default=True),
        st.Page(VIEWS_DIR / "at_risk.py", title="At risk"),
        st.Page(VIEWS_DIR / "account_360.py", title="Account 360"),
        st.Page(VIEWS_DIR / "retention.py", title="Retention"),
        st.Page(VIEWS_DIR / "onboarding.py", title="Onboarding and time to value"),
        st.Page(VIEWS_DIR / "playbooks.py", title="Playbooks"),
        st.Page(VIEWS_DIR / "data_health.py", title="Data health"),
    ]
)
ui.sidebar_filters()
ui.publication_caption()
navigation.run()
