"""Dagster asset, check and job definitions, one module per domain."""
