"""No engine-specific SQL in the models (docs/portability.md).

Models are written once for DuckDB and Spark. Where the dialects differ the
SQL lives in a dispatched macro (adapter.dispatch, with a default__ or
duckdb__ version beside a spark__ one); a model calls the macro. This test
scans every model's SQL, outside its Jinja, for functions and syntax that
only one of the two engines has. The cross-engine build itself runs with
`make test-spark` (tests/spark).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]

# Function names and syntax found in only one of DuckDB and Spark SQL, or in
# both with different results (hash). Each maps to the portable way.
ENGINE_ONLY = {
    r"::": "cast(x as type)",
    r"\bjson_(extract|extract_string|valid|type|keys|array_length|object_keys)\s*\(":
        "json_text / is_json_array / is_json_object (macros/)",
    r"\bget_json_object\s*\(": "json_text (macros/cross_engine.sql)",
    r"\bfrom_json\s*\(": "a dispatched macro in macros/json_arrays.sql",
    r"\bunnest\s*\(": "json_array_elements_text (macros/json_arrays.sql)",
    r"\bexplode\s*\(": "json_array_elements_text (macros/json_arrays.sql)",
    r"\blateral\s+view\b": "json_array_elements_text (macros/json_arrays.sql)",
    r"\blist_[a-z_]+\s*\(": "dbt.listagg or a dispatched macro",
    r"\bstring_agg\s*\(": "dbt.listagg",
    r"\bcollect_(list|set)\s*\(": "dbt.listagg",
    r"\bstrftime\s*\(|\bstrptime\s*\(|\bdate_format\s*\(": "dbt.date_trunc / cast",
    r"\bdate_diff\s*\(|\bdatediff\s*\(": "dbt.datediff",
    r"\bdate_add\s*\(|\bdate_sub\s*\(|\badd_months\s*\(": "dbt.dateadd",
    r"\bepoch(_ms|_us)?\s*\(|\bunix_timestamp\s*\(": "dbt.datediff from a fixed date",
    r"\bgenerate_series\s*\(|\brange\s*\(|\bsequence\s*\(": "dbt.date_spine",
    r"\bstruct_pack\s*\(|\bnamed_struct\s*\(": "separate columns",
    r"\barg_(max|min)\s*\(": "max_by / min_by (both engines)",
    r"\bhash\s*\(": "dbt.hash (md5, the same on both engines)",
    r"\bexclude\s*\(": "list the columns",
    r"\bqualify\b": "a filtered CTE over row_number()",
    r"\bgroup\s+by\s+all\b": "list the grouping columns",
    r"\bilike\b": "lower(x) like",
    r"\btoday\s*\(\s*\)|\bnow\s*\(\s*\)": "as_of_date() (macros/staging_helpers.sql)",
    r"\bread_(parquet|csv|csv_auto|json)\s*\(": "a dbt source",
    r"\b(varchar|text|int4|int8|float8)\b(?!\s*\()": "dbt.type_string() / standard type names",
    # A double-quoted name is an identifier on DuckDB and a string on Spark.
    r'"[^"\n]*"': "{{ adapter.quote('name') }}",
}

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
SQL_COMMENT = re.compile(r"--[^\n]*")
STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


def sql_outside_jinja(text: str) -> str:
    """The SQL a model writes itself: Jinja, comments and string literals blanked."""
    for pattern in (JINJA, SQL_COMMENT, STRING_LITERAL):
        # Newlines stay, so a finding keeps its line number.
        text = pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return text


def engine_only_uses(text: str) -> list[tuple[int, str, str]]:
    """(line, the text found, the portable way) for each engine-only construct."""
    sql = sql_outside_jinja(text).lower()
    found = []
    for pattern, instead in ENGINE_ONLY.items():
        for match in re.finditer(pattern, sql):
            line = sql.count("\n", 0, match.start()) + 1
            found.append((line, match.group(0).strip(), instead))
    return sorted(found)


def test_scanner_finds_engine_only_sql_and_ignores_jinja_comments_and_strings():
    model = (
        "select id::varchar as a,\n"
        "    {{ json_text('payload', 'x') }} as b,  -- unnest( in a comment\n"
        "    'json_extract(' as c,\n"
        "    json_extract_string(payload, '$.y') as \"end\"\n"
        "from t qualify row_number() over () = 1\n"
    )
    found = [(line, text) for line, text, _ in engine_only_uses(model)]
    assert found == [
        (1, "::"), (1, "varchar"), (4, '"end"'), (4, "json_extract_string("), (5, "qualify"),
    ]


SQL_FILES = sorted((PROJECT_DIR / "models").rglob("*.sql")) + sorted(
    (PROJECT_DIR / "tests" / "dbt").rglob("*.sql")
)


@pytest.mark.parametrize(
    "path",
    SQL_FILES,
    ids=lambda p: p.relative_to(PROJECT_DIR).as_posix(),
)
def test_models_use_no_engine_only_sql(path):
    uses = engine_only_uses(path.read_text())
    assert not uses, "\n".join(
        f"{path.relative_to(PROJECT_DIR)}:{line}: {text!r} runs on one engine only; use {instead}"
        for line, text, instead in uses
    )
