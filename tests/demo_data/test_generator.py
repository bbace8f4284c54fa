"""Tests of the demo data generator: determinism, the landing contract, defects, behaviour.

The generated files (CSV, and Parquet per received day for ``segment.tracks``)
are read back with DuckDB, as the loader will read them, so these tests check
the files rather than the generator's internals. Runs are small (tens to a few
hundred accounts) and shared between tests through module-scoped fixtures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from orchestration.demo_data import GeneratorConfig, generate
from orchestration.demo_data import generator as generator_module
from orchestration.demo_data.__main__ import main as cli_main
from orchestration.demo_data.writer import TABLES
from orchestration.settings import GENERATION_MANIFEST, PROJECT_DIR

AS_OF = dt.date(2025, 6, 1)
SMALL = GeneratorConfig(seed=7, accounts=60, months=12, as_of_date=AS_OF)
RAISED = 0.05


@functools.cache
def contracts() -> dict[tuple[str, str], list[dict]]:
    """(source, table) -> column specs, from the sources YAML files."""
    out = {}
    for path in sorted(PROJECT_DIR.glob("models/staging/*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                out[(source["name"], table["name"])] = table["columns"]
    return out


@functools.cache
def connect(landing: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with one text-typed table per landing table (``source_table``) and ``truth``.

    Read once per landing folder and shared by the tests that look at it.
    """
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for source, table in contracts():
        if (source, table) == ("segment", "tracks"):
            pattern = str(landing / source / table / "event_date=*" / "*.parquet")
            reader = f"read_parquet('{pattern}', hive_partitioning = false)"
        else:
            pattern = str(landing / source / table / "*.csv")
            reader = f"read_csv('{pattern}', header = true, all_varchar = true)"
        con.execute(f"create table {source}_{table} as select * from {reader}")
    con.execute(
        f"create table truth as select * from "
        f"read_csv('{landing / '_truth' / 'accounts.csv'}', header = true, all_varchar = true)"
    )
    return con


def scalar(con: duckdb.DuckDBPyConnection, query: str):
    return con.execute(query).fetchone()[0]


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("small")
    return landing, generate(SMALL, landing)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("clean")
    config = dataclasses.replace(SMALL, accounts=80).without_defects()
    return landing, generate(config, landing)


@pytest.fixture(scope="module")
def defective(tmp_path_factory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("defective")
    config = dataclasses.replace(
        SMALL, seed=11, accounts=150, duplicate_rate=RAISED, late_event_rate=RAISED,
        unknown_user_rate=RAISED, malformed_timestamp_rate=RAISED, orphan_id_rate=RAISED,
        missing_crm_id_rate=0.10, personal_email_rate=RAISED,
    )
    return landing, generate(config, landing)


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> tuple[Path, dict]:
    """A run big and long enough for every behaviour pattern to show up."""
    landing = tmp_path_factory.mktemp("story")
    config = GeneratorConfig(seed=3, accounts=300, months=18, as_of_date=AS_OF)
    return landing, generate(config, landing)


# Determinism --------------------------------------------------------------

def test_same_config_gives_identical_files(small, tmp_path):
    landing, _ = small
    generate(SMALL, tmp_path / "again")
    assert digest(tmp_path / "again") == digest(landing)


def test_another_seed_gives_different_files(small, tmp_path):
    landing, _ = small
    generate(dataclasses.replace(SMALL, seed=8), tmp_path / "other")
    first, second = digest(landing), digest(tmp_path / "other")
    assert first["hubspot/company/part-0000.csv"] != second["hubspot/company/part-0000.csv"]
    assert first["stripe/invoice/part-0000.csv"] != second["stripe/invoice/part-0000.csv"]


def test_rerun_replaces_previous_output(tmp_path):
    generate(dataclasses.replace(SMALL, months=12), tmp_path)
    generate(dataclasses.replace(SMALL, accounts=20, months=3), tmp_path)
    days = sorted(p.name for p in (tmp_path / "segment" / "tracks").iterdir())
    assert days[0] >= "event_date=2025-03-01" and days[-1] <= "event_date=2025-05-31"
    manifest = json.loads((tmp_path / GENERATION_MANIFEST).read_text())
    assert manifest["accounts"] == 20
    # The scratch folder of the numeric events does not outlive the run.
    assert not (tmp_path / generator_module.SPILL_DIR).exists()


def test_batches_of_accounts_keep_ids_unique_and_defects_in_proportion(tmp_path, monkeypatch):
    # Four batches instead of one: keys and user numbers must not collide.
    monkeypatch.setattr(generator_module, "ACCOUNTS_PER_BATCH", 40)
    config = dataclasses.replace(SMALL, seed=11, accounts=150, duplicate_rate=RAISED,
                                 unknown_user_rate=RAISED)
    manifest = generate(config, tmp_path)
    con = connect(tmp_path)
    total = scalar(con, "select count(*) from segment_tracks")
    distinct_rows = scalar(con, "select count(*) from (select distinct * from segment_tracks)")
    distinct_ids = scalar(con, "select count(distinct id) from segment_tracks")
    # Only the injected duplicates share an id, and they share the whole row.
    assert distinct_ids == distinct_rows == total - manifest["defects"]["duplicate_rows"][
        "segment.tracks"]
    assert _near(total - distinct_rows, RAISED * distinct_rows)
    anonymous = scalar(con, "select count(*) from (select user_id from segment_tracks "
                            "group by 1 having count(distinct anonymous_id) > 1)")
    assert anonymous == 0
    assert scalar(con, "select count(distinct user_id) from segment_groups") == scalar(
        con, "select count(*) from segment_groups")


# The landing contract -------------------------------------------------------

def test_every_contract_table_is_written_with_exactly_its_columns(small):
    landing, _ = small
    for (source, table), columns in contracts().items():
        folder = landing / source / table
        expected = [c["name"] for c in columns]
        if (source, table) == ("segment", "tracks"):
            files = sorted(folder.glob("*/*"))
            assert files, f"{source}.{table}: no file"
            for path in files:
                assert path.name == "part-0000.parquet"
                day = path.parent.name.removeprefix("event_date=")
                assert dt.date.fromisoformat(day) < AS_OF
                assert pq.read_schema(path).names == expected, path
            continue
        files = sorted(folder.glob("*.csv"))
        assert [f.name for f in files] == ["part-0000.csv"]
        for path in files:
            with path.open(encoding="utf-8") as handle:
                header = handle.readline().rstrip("\n").split(",")
            assert header == expected, f"{path}: {header}"


def test_writer_columns_mirror_the_contract():
    expected = {key: [(c["name"], c["data_type"]) for c in columns]
                for key, columns in contracts().items()}
    assert {key: list(columns) for key, columns in TABLES.items()} == expected


def test_values_follow_the_formats(small):
    landing, _ = small
    con = connect(landing)
    assert scalar(con, "select count(*) from hubspot_company where not regexp_full_match("
                       "property_createdate, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ')") == 0
    assert scalar(con, "select count(*) from stripe_subscription_history "
                       "where _fivetran_active not in ('true', 'false')") == 0
    assert scalar(con, "select count(*) from finance_sales_marketing_expense "
                       "where not regexp_full_match(expense_month, '\\d{4}-\\d\\d-01')") == 0
    assert scalar(con, "select count(*) from stripe_invoice "
                       "where try_cast(amount_due as bigint) is null") == 0
    assert scalar(con, "select count(*) from zendesk_organization "
                       "where json_array_length(domain_names) <> 1") == 0
    for path in landing.rglob("*.csv"):
        text = path.read_bytes().decode("utf-8")
        assert "\r" not in text


def test_required_columns_are_filled_in_clean_data(clean):
    landing, _ = clean
    con = connect(landing)
    for (source, table), columns in contracts().items():
        for column in columns:
            if column.get("config", {}).get("meta", {}).get("required"):
                nulls = scalar(con, f'select count(*) from {source}_{table} '
                                    f'where "{column["name"]}" is null')
                assert nulls == 0, f"{source}.{table}.{column['name']}"


def test_values_cast_to_the_contract_types_in_clean_data(clean):
    landing, _ = clean
    con = connect(landing)
    casts = {"bigint": "bigint", "integer": "integer", "double": "double", "date": "date",
             "boolean": "boolean", "timestamp": "timestamptz"}
    for (source, table), columns in contracts().items():
        for column in columns:
            target = casts.get(column["data_type"])
            if target is None:
                continue
            name = column["name"]
            bad = scalar(con, f'select count(*) from {source}_{table} where "{name}" is not null '
                              f'and try_cast("{name}" as {target}) is null')
            assert bad == 0, f"{source}.{table}.{name}"


def test_manifest_describes_the_run(small):
    landing, manifest = small
    assert json.loads((landing / GENERATION_MANIFEST).read_text()) == manifest
    assert manifest["as_of_date"] == "2025-06-01"
    assert (manifest["seed"], manifest["accounts"], manifest["months"]) == (7, 60, 12)
    assert set(manifest["defect_rates"]) >= {"duplicate_rate", "late_event_rate"}
    con = connect(landing)
    for name, rows in manifest["row_counts"].items():
        assert scalar(con, f"select count(*) from {name.replace('.', '_')}") == rows, name
    truth = scalar(con, "select count(*) from truth")
    assert truth == 60
    assert {"stripe.coupon", "stripe.discount"} <= set(manifest["row_counts"])


def test_nothing_happens_after_the_cutoff(small):
    landing, _ = small
    con = connect(landing)
    cutoff = "timestamptz '2025-06-01 00:00:00+00'"
    for column in ("timestamp", "received_at"):
        late = scalar(con, f"select count(*) from segment_tracks "
                           f"where try_cast({column} as timestamptz) >= {cutoff}")
        assert late == 0
    for table, column in [("stripe_invoice", "created"), ("zendesk_ticket", "updated_at"),
                          ("hubspot_engagement", "timestamp"),
                          ("delighted_survey_response", "created_at"),
                          ("stripe_subscription_history", "_fivetran_start")]:
        assert scalar(con, f"select count(*) from {table} "
                           f"where try_cast({column} as timestamptz) >= {cutoff}") == 0


def test_tracks_files_follow_the_received_day(small):
    landing, _ = small
    con = connect(landing)
    files = sorted((landing / "segment" / "tracks").glob("event_date=*/*.parquet"))
    assert len(files) > 300
    for path in files:
        days = con.execute(
            f"select distinct strftime(received_at at time zone 'UTC', '%Y-%m-%d') "
            f"from read_parquet('{path}', hive_partitioning = false)"
        ).fetchall()
        assert days == [(path.parent.name.removeprefix("event_date="),)]


def test_late_events_land_in_a_later_days_file(defective):
    landing, manifest = defective
    con = connect(landing)
    # A late event's folder is the day it arrived, one to five days after it happened.
    late = con.execute("""
        select distinct
            date_diff('day', try_cast(timestamp as timestamptz)::date,
                      (received_at at time zone 'UTC')::date)
        from (select distinct * from segment_tracks)
        where received_at - try_cast(timestamp as timestamptz) >= interval 1 day
    """).fetchall()
    assert {d for (d,) in late} <= {1, 2, 3, 4, 5} and len(late) >= 3
    assert manifest["defects"]["late_events"]["segment.tracks"] > 0


def test_subscription_versions_are_contiguous(small):
    landing, _ = small
    con = connect(landing)
    broken = scalar(con, """
        select count(*) from (
            select _fivetran_end, _fivetran_active,
                   lead(_fivetran_start) over (partition by id order by _fivetran_start) as next
            from stripe_subscription_history
        )
        where (next is null and (_fivetran_end <> '9999-12-31T23:59:59Z'
                                 or _fivetran_active <> 'true'))
           or (next is not null and (next <> _fivetran_end or _fivetran_active <> 'false'))
    """)
    assert broken == 0
    assert scalar(con, "select count(distinct id) from stripe_subscription_history") == scalar(
        con, "select count(*) from stripe_subscription_item")


def invoice_discounts(con: duckdb.DuckDBPyConnection) -> str:
    """A view of the invoices with the discount their subscription's coupon implies.

    An invoice is discounted when its period starts inside the discount's
    [start, end); percentages are rounded half-up to whole cents, an amount off
    never exceeds the subtotal. There is one discount per subscription at most.
    """
    con.execute("""
        create or replace temp view invoice_discounts as
        with discounts as (
            select d.subscription_id, d."start"::timestamptz as starts,
                   d."end"::timestamptz as ends, c.duration,
                   c.percent_off::double as percent_off, c.amount_off::bigint as amount_off
            from stripe_discount as d join stripe_coupon as c on c.id = d.coupon_id
        ),
        invoices as (
            select i.id, i.subscription_id, i.status, i.subtotal::bigint as subtotal,
                   i.tax::bigint as tax, i.total::bigint as total,
                   i.amount_due::bigint as amount_due, i.amount_paid::bigint as amount_paid,
                   d.duration, d.percent_off, d.amount_off,
                   d.subscription_id is not null as discounted
            from stripe_invoice as i
            left join discounts as d
                on d.subscription_id = i.subscription_id
                and i.period_start::timestamptz >= d.starts
                and (d.ends is null or i.period_start::timestamptz < d.ends)
        )
        select *, case
            when not discounted or subtotal <= 0 then 0
            when percent_off is not null
                then (subtotal * cast(round(percent_off * 100) as bigint) + 5000) // 10000
            else least(amount_off, subtotal) end as discount
        from invoices
    """)
    return "invoice_discounts"


def test_invoice_totals_match_their_lines(clean):
    landing, _ = clean
    con = connect(landing)
    view = invoice_discounts(con)
    # Lines and subtotal stay at list price; a discount comes off before tax.
    mismatched = scalar(con, f"""
        select count(*) from {view} as i
        join (select invoice_id, sum(amount::bigint) as lines
              from stripe_invoice_line_item group by 1) as l on l.invoice_id = i.id
        where i.subtotal <> l.lines or i.total <> i.subtotal - i.discount + i.tax
    """)
    assert mismatched == 0
    assert scalar(con, f"select count(*) from {view} where discount > 0") > 0


# Defects ------------------------------------------------------------------

def _near(measured: int, expected: float, tolerance: float = 0.25) -> bool:
    return abs(measured - expected) <= max(3, tolerance * expected)


def test_tracks_defects_appear_at_the_configured_rate(defective):
    landing, manifest = defective
    con = connect(landing)
    counts = manifest["defects"]
    total = scalar(con, "select count(*) from segment_tracks")
    duplicates = total - scalar(con, "select count(*) from (select distinct * from segment_tracks)")
    unknown = scalar(con, "select count(*) from segment_tracks where user_id not in "
                          "(select user_id from segment_groups)")
    base = total - duplicates - unknown
    malformed = scalar(con, "select count(*) from (select distinct * from segment_tracks) "
                            "where try_cast(timestamp as timestamptz) is null")
    late = scalar(con, "select count(*) from (select distinct * from segment_tracks) where "
                       "received_at::timestamptz - try_cast(timestamp as timestamptz) "
                       ">= interval 1 day")
    assert duplicates == counts["duplicate_rows"]["segment.tracks"]
    assert unknown >= counts["unknown_users"]["segment.tracks"]
    for measured in (duplicates, unknown):
        assert _near(measured, RAISED * base), (measured, base)
    # Malformed and late rows are also copied by the unknown-user defect now and then.
    assert _near(malformed, RAISED * base) and _near(late, RAISED * base)
    generated = total - duplicates - counts["unknown_users"]["segment.tracks"]
    assert counts["malformed_timestamps"]["segment.tracks"] == round(RAISED * generated)
    assert counts["late_events"]["segment.tracks"] == round(RAISED * generated)


def test_connector_defects_appear_at_the_configured_rate(defective):
    landing, manifest = defective
    con = connect(landing)
    counts = manifest["defects"]
    for table, key in [("hubspot_company", "id"), ("hubspot_contact", "id"),
                       ("stripe_customer", "id"), ("stripe_invoice", "id"),
                       ("zendesk_ticket", "id")]:
        rows = scalar(con, f"select count(*) from {table}")
        distinct = scalar(con, f"select count(distinct {key}) from {table}")
        assert rows - distinct == counts["duplicate_rows"][table.replace("_", ".", 1)]
        assert _near(rows - distinct, RAISED * distinct, tolerance=0.5)
        # The newest copy per id is the true one: an older copy never looks newer.
        stale_newer = scalar(con, f"""
            select count(*) from (select {key}, count(*) as n,
                   count(distinct _fivetran_synced) as synced from {table} group by 1)
            where n > 1 and synced < n""")
        assert stale_newer == 0

    orphan_tickets = scalar(con, "select count(*) from zendesk_ticket where organization_id "
                                 "not in (select id from zendesk_organization)")
    orphan_invoices = scalar(con, "select count(*) from stripe_invoice where customer_id "
                                  "not in (select id from stripe_customer)")
    orphan_links = scalar(con, "select count(*) from hubspot_deal_company where company_id "
                               "not in (select id from hubspot_company)")
    assert orphan_tickets >= counts["orphan_ids"]["zendesk.ticket"] > 0
    assert orphan_invoices == counts["orphan_ids"]["stripe.invoice"] > 0
    assert orphan_links == counts["orphan_ids"]["hubspot.deal_company"] > 0
    tickets = scalar(con, "select count(distinct id) from zendesk_ticket")
    assert _near(orphan_tickets, RAISED * tickets, tolerance=0.5)
    assert scalar(con, "select count(*) from zendesk_ticket "
                       "where try_cast(created_at as timestamptz) is null") > 0


def test_billing_customers_without_crm_id(defective):
    landing, manifest = defective
    con = connect(landing)
    customers = con.execute("""
        select id, any_value(email) as email,
               bool_or(json_extract_string(metadata, '$.hubspot_company_id') is not null) as linked
        from stripe_customer group by id
    """).fetchall()
    unlinked = [email for _, email, linked in customers if not linked]
    personal = [e for e in unlinked if e.split("@")[1] in ("gmail.com", "yahoo.com",
                                                           "hotmail.com", "outlook.com",
                                                           "icloud.com")]
    company_domain = len(unlinked) - len(personal)
    assert company_domain == manifest["defects"]["customers_without_crm_id"]["stripe.customer"]
    assert len(personal) == manifest["defects"]["customers_with_personal_email"][
        "stripe.customer"]
    assert _near(company_domain, 0.10 * len(customers), tolerance=0.3)
    assert _near(len(personal), RAISED * len(customers), tolerance=0.3)
    # A billing email at a company domain always names a CRM company's domain.
    domains = {r[0] for r in con.execute("select property_domain from hubspot_company").fetchall()}
    assert all(e.split("@")[1] in domains for e in unlinked if e not in personal)


def test_no_defects_when_rates_are_zero(clean):
    landing, manifest = clean
    con = connect(landing)
    assert all(n == 0 for tables in manifest["defects"].values() for n in tables.values())
    for table, key in [("hubspot_company", "id"), ("hubspot_contact", "id"),
                       ("stripe_customer", "id"), ("stripe_invoice", "id"),
                       ("zendesk_ticket", "id"), ("segment_tracks", "id"),
                       ("segment_groups", "id")]:
        assert scalar(con, f"select count(*) - count(distinct {key}) from {table}") == 0, table
    checks = {
        "malformed tracks": "select count(*) from segment_tracks "
                            "where try_cast(timestamp as timestamptz) is null",
        "malformed tickets": "select count(*) from zendesk_ticket "
                             "where try_cast(created_at as timestamptz) is null",
        "late events": "select count(*) from segment_tracks where received_at::timestamptz"
                       " - timestamp::timestamptz > interval 1 minute",
        "unknown users": "select count(*) from segment_tracks "
                         "where user_id not in (select user_id from segment_groups)",
        "orphan tickets": "select count(*) from zendesk_ticket where organization_id "
                          "not in (select id from zendesk_organization)",
        "orphan invoices": "select count(*) from stripe_invoice where customer_id "
                           "not in (select id from stripe_customer)",
        "orphan deal links": "select count(*) from hubspot_deal_company where company_id "
                             "not in (select id from hubspot_company)",
        "customers without crm id": "select count(*) from stripe_customer where json_extract_"
                                    "string(metadata, '$.hubspot_company_id') is null",
    }
    for name, query in checks.items():
        assert scalar(con, query) == 0, name


# Behaviour ------------------------------------------------------------------

def test_company_mix(story):
    landing, _ = story
    con = connect(landing)
    rows = dict(con.execute("select archetype, count(*) from truth group by 1").fetchall())
    customers = sum(n for a, n in rows.items() if a != "prospect")
    assert rows["prospect"] == 30
    assert abs(rows["churner"] / customers - 0.2) < 0.06
    assert {"healthy", "expander", "downgrader", "stalled", "trial_expired"} <= set(rows)
    mismatched = scalar(con, """
        select count(*) from truth where case
            when employees::int < 200 then 'smb'
            when employees::int < 1000 then 'mid_market' else 'enterprise' end <> segment""")
    assert mismatched == 0
    # Product users never exceed the seats they pay for (except after a downgrade).
    assert scalar(con, "select count(*) from truth where archetype not in ('downgrader') "
                       "and product_users::int > greatest(initial_seats::int, "
                       "latest_seats::int)") == 0


def test_churners_use_the_product_less_before_they_leave(story):
    landing, _ = story
    con = connect(landing)
    recent, earlier, accounts = con.execute("""
        with churners as (
            select product_account_id, churn_date::timestamptz as churned
            from truth
            where archetype = 'churner' and churn_date is not null
              and churn_date::date - signup_date::date >= 200
        ),
        events as (
            select g.group_id, try_cast(t.timestamp as timestamptz) as happened
            from segment_tracks as t
            join (select distinct user_id, group_id from segment_groups) as g using (user_id)
        )
        select
            count(*) filter (where happened >= churned - interval 28 day
                                   and happened < churned) / 4.0,
            count(*) filter (where happened >= churned - interval 182 day
                               and happened < churned - interval 120 day) / (62 / 7.0),
            count(distinct product_account_id)
        from churners join events on events.group_id = churners.product_account_id
    """).fetchone()
    assert accounts >= 5
    assert recent < 0.5 * earlier, (recent, earlier)


def test_billing_stories_are_present(story):
    landing, _ = story
    con = connect(landing)
    expansions = scalar(con, """
        select count(distinct id) from (
            select id, quantity::int - lag(quantity::int) over (
                partition by id order by _fivetran_start) as change
            from stripe_subscription_history)
        where change > 0""")
    assert expansions >= 5
    assert scalar(con, "select count(*) from stripe_invoice "
                       "where billing_reason = 'subscription_update'") >= 5
    assert scalar(con, "select count(distinct id) from stripe_subscription_history "
                       "where status = 'trialing'") >= 20
    assert scalar(con, "select count(distinct id) from stripe_subscription_history "
                       "where status = 'past_due'") >= 3
    # Past due spells end: back to active with the invoice paid.
    assert scalar(con, """
        select count(*) from (
            select status, lead(status) over (partition by id order by _fivetran_start) as next
            from stripe_subscription_history)
        where status = 'past_due' and next = 'active'""") >= 2
    # Partial cancellation: an add-on ends while the same customer's plan continues.
    partial = scalar(con, """
        with ended as (
            select id, customer_id, ended_at::timestamptz as ended
            from stripe_subscription_history
            where _fivetran_active = 'true' and status = 'canceled'
              and json_extract_string(metadata, '$.kind') = 'addon'
        )
        select count(*) from ended where exists (
            select 1 from stripe_subscription_history as main
            where main.customer_id = ended.customer_id and main.id <> ended.id
              and main.status = 'active' and main._fivetran_start::timestamptz <= ended.ended
              and main._fivetran_end::timestamptz > ended.ended)""")
    assert partial >= 2
    # Reactivation: a new subscription after an earlier one of the customer ended.
    reactivated = scalar(con, """
        with subs as (
            select id, customer_id, min(created::timestamptz) as created,
                   max(ended_at::timestamptz) as ended
            from stripe_subscription_history
            where json_extract_string(metadata, '$.kind') <> 'addon'
            group by 1, 2)
        select count(distinct later.customer_id) from subs as earlier
        join subs as later on later.customer_id = earlier.customer_id
            and later.created > earlier.ended + interval 20 day""")
    assert reactivated >= 3
    # Trials that never converted have no paid invoice.
    expired_paid = scalar(con, """
        select count(*) from stripe_invoice where status = 'paid' and subscription_id in (
            select id from stripe_subscription_history
            where _fivetran_active = 'true' and status in ('incomplete_expired', 'canceled')
              and ended_at = trial_end)""")
    assert expired_paid == 0
    assert scalar(con, "select count(*) from stripe_invoice_line_item "
                       "where type = 'invoiceitem'") > 0


def test_discounts_reference_coupons_and_subscriptions(story):
    landing, _ = story
    con = connect(landing)
    assert scalar(con, "select count(*) from stripe_discount where coupon_id "
                       "not in (select id from stripe_coupon)") == 0
    assert scalar(con, """
        select count(*) from stripe_discount as d where not exists (
            select 1 from stripe_subscription_history as s
            where s.id = d.subscription_id and s.customer_id = d.customer_id
              and json_extract_string(s.metadata, '$.kind') = 'main')""") == 0
    assert scalar(con, "select count(*) - count(distinct subscription_id) "
                       "from stripe_discount") == 0
    assert scalar(con, "select count(*) from stripe_discount "
                       "where not regexp_full_match(id, 'di_[0-9A-Za-z]{14}')") == 0
    # About 8% of paying main subscriptions, as an exact quota.
    paying = scalar(con, "select count(*) from truth where first_paid_date is not null")
    assert scalar(con, "select count(*) from stripe_discount") == round(0.08 * paying)
    # The truth table names the same coupon and start for the main subscription.
    assert scalar(con, """
        select count(*) from truth as t
        full join stripe_discount as d on d.subscription_id = t.main_subscription_id
        where t.coupon_id is distinct from d.coupon_id
           or t.discount_start_date is distinct from left(d."start", 10)""") == 0
    # A discount starts at a paid period start: mostly the first, a few at a renewal.
    at_first, later, off_boundary = con.execute("""
        select count(*) filter (where left(d."start", 10) = t.first_paid_date),
               count(*) filter (where left(d."start", 10) > t.first_paid_date),
               count(*) filter (where not exists (
                   select 1 from stripe_invoice as i
                   where i.subscription_id = d.subscription_id
                     and i.billing_reason <> 'subscription_update'
                     and i.period_start = d."start"))
        from stripe_discount as d join truth as t on t.main_subscription_id = d.subscription_id
    """).fetchone()
    assert off_boundary == 0
    assert at_first > later > 0
    # forever: no end; repeating: start + its months; once: one billing period.
    wrong_end = scalar(con, """
        select count(*) from stripe_discount as d join stripe_coupon as c on c.id = d.coupon_id
        where case c.duration
            when 'forever' then d."end" is not null
            when 'repeating' then d."end"::timestamptz is distinct from
                d."start"::timestamptz + to_months(c.duration_in_months::int)
            else not exists (
                select 1 from stripe_invoice as i
                where i.subscription_id = d.subscription_id and i.period_start = d."start"
                  and i.period_end = d."end")
        end""")
    assert wrong_end == 0
    assert scalar(con, "select count(*) from stripe_discount "
                       "where \"start\"::timestamptz >= timestamptz '2025-06-01 00:00:00+00'") == 0


def test_friends_and_family_pay_nothing_forever(story):
    landing, _ = story
    con = connect(landing)
    assert scalar(con, "select count(*) from truth where first_paid_date is not null") >= 50
    family = [row[0] for row in con.execute("""
        select d.subscription_id from stripe_discount as d
        join stripe_coupon as c on c.id = d.coupon_id
        where c.percent_off::double = 100 and c.duration = 'forever' and d."end" is null
    """).fetchall()]
    assert 1 <= len(family) <= 3
    listed = ", ".join(f"'{s}'" for s in family)
    total, charged, unpaid = con.execute(f"""
        select count(*), count(*) filter (where total::bigint <> 0 or amount_due::bigint <> 0
                                              or amount_paid::bigint <> 0),
               count(*) filter (where status not in ('paid', 'void'))
        from (select *, row_number() over (partition by id order by _fivetran_synced desc)
                  as latest
              from stripe_invoice where subscription_id in ({listed}))
        where latest = 1 and subtotal::bigint > 0
    """).fetchone()
    assert total > 0 and charged == 0 and unpaid == 0


def test_invoices_reflect_discounts(story):
    landing, _ = story
    con = connect(landing)
    view = invoice_discounts(con)
    assert scalar(con, f"select count(*) from {view} "
                       f"where total <> subtotal - discount + tax") == 0
    assert scalar(con, f"select count(*) from {view} where discounted and percent_off "
                       f"between 1 and 99 and total < subtotal") > 0
    # Outside its window a subscription pays list price again (a welcome offer ended).
    assert scalar(con, f"""
        select count(*) from {view} as i where not discounted and subtotal > 0
          and subscription_id in (select subscription_id from stripe_discount
                                  where "end" is not null)""") > 0
    assert scalar(con, f"select count(*) from {view} where amount_due <> greatest(total, 0) "
                       f"or amount_paid not in (0, amount_due)") == 0


def test_annual_churners_give_notice_months_ahead(story):
    landing, _ = story
    con = connect(landing)
    notice_days = con.execute("""
        select date_diff('day', canceled_at::timestamptz, ended_at::timestamptz)
        from stripe_subscription_history
        where _fivetran_active = 'true' and status = 'canceled'
          and cancel_at_period_end = 'true'
          and current_period_end::timestamptz - current_period_start::timestamptz
              > interval 300 day""").fetchall()
    assert notice_days and min(d for (d,) in notice_days) >= 29


def test_churners_score_lower_and_escalate_more(story):
    landing, _ = story
    con = connect(landing)
    con.execute("""
        create or replace temp table responses as
        select r.survey_type, r.score::int as score, r.created_at::timestamptz as answered,
               t.archetype, t.churn_date::timestamptz as churned
        from delighted_survey_response as r
        join hubspot_contact as c on c.property_email = r.email
        join truth as t on t.company_id = c.property_associatedcompanyid""")
    before_churn = scalar(con, """
        select avg(score) from responses where survey_type = 'nps' and archetype = 'churner'
          and answered < churned and answered >= churned - interval 120 day""")
    healthy = scalar(con, "select avg(score) from responses "
                          "where survey_type = 'nps' and archetype = 'healthy'")
    assert before_churn < healthy - 2, (before_churn, healthy)
    urgent_before, urgent_healthy = con.execute("""
        with tickets as (
            select t.priority, try_cast(t.created_at as timestamptz) as opened, a.archetype,
                   a.churn_date::timestamptz as churned
            from zendesk_ticket as t
            join truth as a on a.zendesk_organization_id = t.organization_id)
        select
            avg((priority in ('urgent', 'high'))::int) filter (
                where archetype = 'churner' and opened >= churned - interval 90 day),
            avg((priority in ('urgent', 'high'))::int) filter (where archetype = 'healthy')
        from tickets""").fetchone()
    assert urgent_before > urgent_healthy + 0.1


def test_onboarding_milestones_come_in_order(story):
    landing, _ = story
    con = connect(landing)
    out_of_order = scalar(con, """
        with firsts as (
            select g.group_id, t.event, min(try_cast(t.timestamp as timestamptz)) as happened
            from segment_tracks as t join segment_groups as g using (user_id)
            where t.event in ('account_setup_completed', 'data_source_connected',
                              'teammate_invited', 'first_report_published')
            group by 1, 2)
        select count(*) from firsts as a join firsts as b using (group_id)
        where a.event = 'account_setup_completed' and b.event = 'first_report_published'
          and b.happened <= a.happened""")
    assert out_of_order == 0
    stalled_complete = scalar(con, """
        select count(*) from truth as a
        join segment_groups as g on g.group_id = a.product_account_id
        join segment_tracks as t using (user_id)
        where a.archetype = 'stalled' and t.event = 'first_report_published'""")
    assert stalled_complete == 0


def test_crm_links(story):
    landing, _ = story
    con = connect(landing)
    customers = scalar(con, "select count(*) from truth where is_customer = 'true'")
    with_product_id = scalar(con, "select count(*) from hubspot_company "
                                  "where property_product_account_id is not null")
    assert 0.85 < with_product_id / customers < 0.98
    # Every contact's email is at its company's domain.
    assert scalar(con, """
        select count(*) from hubspot_contact as c
        join hubspot_company as co on co.id = c.property_associatedcompanyid
        where split_part(c.property_email, '@', 2) <> co.property_domain""") == 0
    assert scalar(con, "select count(distinct type) from hubspot_engagement") == 5
    assert scalar(con, "select count(*) from hubspot_engagement where type = 'MEETING'") == (
        scalar(con, "select count(*) from hubspot_engagement_meeting"))
    deal_types = {r[0] for r in con.execute(
        "select distinct property_dealtype from hubspot_deal").fetchall()}
    assert deal_types == {"newbusiness", "existingbusiness", "renewal"}


# Command line ---------------------------------------------------------------

def test_cli_writes_and_then_skips_with_if_missing(tmp_path, capsys):
    args = ["--accounts", "12", "--months", "2", "--seed", "5", "--as-of", "2025-03-01",
            "--out", str(tmp_path), "--quiet"]
    assert cli_main(args) == 0
    manifest = json.loads((tmp_path / GENERATION_MANIFEST).read_text())
    assert (manifest["accounts"], manifest["as_of_date"]) == (12, "2025-03-01")
    assert "hubspot.company" in capsys.readouterr().out
    before = digest(tmp_path)
    assert cli_main([*args, "--seed", "6", "--if-missing"]) == 0
    assert "nothing generated" in capsys.readouterr().out
    assert digest(tmp_path) == before


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        GeneratorConfig(accounts=0)
    with pytest.raises(ValueError):
        GeneratorConfig(duplicate_rate=1.5)
