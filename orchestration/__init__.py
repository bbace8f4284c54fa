"""Customer Success warehouse: loading, orchestration and CRM sync."""
