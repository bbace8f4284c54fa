"""The Customer Success dashboard: a Streamlit app over the serving copy (docs/dashboard.md)."""
