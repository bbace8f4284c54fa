"""Identity resolution against the generator's truth about each account."""

from __future__ import annotations

import csv


def _truth(built_warehouse) -> list[dict[str, str]]:
    with (built_warehouse.landing_dir / "_truth" / "accounts.csv").open() as handle:
        return list(csv.DictReader(handle))


def _identity(built_warehouse, system: str) -> dict[str, tuple]:
    rows = built_warehouse.query(
        "select source_record_id, account_id, match_method "
        f"from intermediate.int_account_identity where source_system = '{system}'"
    )
    return {record: (account, method) for record, account, method in rows}


def test_coverage_reports_every_system(built_warehouse):
    rows = built_warehouse.query(
        "select source_system, record_count, matched_count + unmatched_count, matched_share "
        "from intermediate.int_account_identity_coverage"
    )
    assert {r[0] for r in rows} == {"hubspot", "stripe", "segment", "zendesk", "delighted"}
    for system, records, accounted, share in rows:
        assert records == accounted, system
        assert 0 <= share <= 1


def test_billing_customers_resolve_to_their_company(built_warehouse):
    identity = _identity(built_warehouse, "stripe")
    customers = [t for t in _truth(built_warehouse) if t["stripe_customer_id"]]
    methods = set()
    for truth in customers:
        account, method = identity[truth["stripe_customer_id"]]
        if truth["customer_email_is_personal"] == "true" and truth["customer_has_crm_id"] != "true":
            # Nothing links a gmail.com customer without a CRM id: it must stay
            # visible as unmatched rather than be guessed.
            assert (account, method) == (None, "unmatched")
        else:
            assert account == int(truth["company_id"]), truth["stripe_customer_id"]
            methods.add(method)
            if truth["customer_has_crm_id"] != "true":
                assert method == "email_domain"
    assert methods == {"explicit_id", "email_domain"}


def test_product_accounts_resolve_by_id_or_website(built_warehouse):
    identity = _identity(built_warehouse, "segment")
    for truth in _truth(built_warehouse):
        if not truth["product_account_id"]:
            continue
        account, method = identity[truth["product_account_id"]]
        assert account == int(truth["company_id"])
        expected = "explicit_id" if truth["crm_has_product_account_id"] == "true" else "web_domain"
        assert method == expected


def test_support_organizations_resolve_by_external_id_or_domain(built_warehouse):
    identity = _identity(built_warehouse, "zendesk")
    for truth in _truth(built_warehouse):
        if not truth["zendesk_organization_id"]:
            continue
        account, method = identity[truth["zendesk_organization_id"]]
        assert account == int(truth["company_id"])
        expected = "explicit_id" if truth["zendesk_has_external_id"] == "true" else "web_domain"
        assert method == expected


def test_survey_respondents_without_company_id_match_by_contact_email(built_warehouse):
    rows = built_warehouse.query(
        """
        select identity.match_method, count(*)
        from intermediate.int_account_identity as identity
        where identity.source_system = 'delighted'
        group by 1
        """
    )
    methods = dict(rows)
    assert methods.get("explicit_id", 0) > 0
    assert methods.get("contact_email", 0) > 0
