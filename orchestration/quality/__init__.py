"""Data-quality checks beyond dbt tests: Great Expectations suites."""
