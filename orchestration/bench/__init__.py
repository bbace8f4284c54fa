"""The scale benchmark behind ``make bench``: tiers of demo data through the whole pipeline.

``python -m orchestration.bench --tiers small,medium`` generates each tier's
landing folder (cached), then measures, each stage in its own subprocess so
the peak memory of its process tree can be sampled: the raw load, the full
dbt build, the GX suites, the CRM sync to the sandbox, a daily incremental
run after the full build, and a baseline that runs the same compiled SQL
straight through DuckDB. Results go to ``benchmarks/results.json`` and
``benchmarks/results.md``; docs/benchmarks.md explains how to read them.
"""
