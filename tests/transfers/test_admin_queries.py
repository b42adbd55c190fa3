"""The record and citation lists of the admin cost a fixed number of queries, whatever their
rows, and their filters read no whole table: at a million records a query per row or a
DISTINCT over every row is seconds a page view (`benchmark_admin` measures the times; these
tests pin the queries)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    CitationFactory,
    CountryFactory,
    ExpenditureFactory,
    HoldingFactory,
    PledgeFactory,
    TransferFactory,
    WeaponSystemFactory,
    state,
)
from transfers.models import PartyRole
from transfers.services import party_role_save

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content.decode()[:500]
    return [query["sql"] for query in captured]


def _cite_one_of_each_kind() -> None:
    transfer = TransferFactory(system=WeaponSystemFactory())
    CitationFactory(transfer=transfer)
    CitationFactory(transfer=None, pledge=PledgeFactory(system=WeaponSystemFactory()))
    CitationFactory(transfer=None, holding=HoldingFactory(system=WeaponSystemFactory()))
    CitationFactory(transfer=None, expenditure=ExpenditureFactory(system=WeaponSystemFactory()))
    role = party_role_save(role=PartyRole(party=state("PL"), role="arranger", transfer=transfer))
    CitationFactory(transfer=None, party_role=role)


def test_the_citation_list_reads_the_records_once_per_kind_not_once_per_row(editor_client):
    url = reverse("admin:transfers_citation_changelist")
    _cite_one_of_each_kind()
    few = _queries(editor_client, url)
    for _ in range(3):
        _cite_one_of_each_kind()
    many = _queries(editor_client, url)
    # the session, the user, the user's and the groups' permissions, the count, the page
    # with its sources, then one query for each kind of record on the page (holdings,
    # pledges, transfers, expenditures, party roles)
    assert len(few) == len(many) == 4 + 2 + 5, "\n".join(sql[:120] for sql in many)
    page = editor_client.get(url).content.decode()
    assert "United Kingdom → Ukraine" in page  # a transfer's label names its parties
    assert f"{state('PL')}: " in page  # a party role's label names its party


@pytest.mark.parametrize("record", ["transfer", "expenditure"])
def test_a_record_list_costs_the_same_queries_for_a_few_or_many_records(editor_client, record):
    factory = {"transfer": TransferFactory, "expenditure": ExpenditureFactory}[record]
    url = reverse(f"admin:transfers_{record}_changelist")
    parties = {"transfer": "donor", "expenditure": "holder"}[record]
    factory(system=WeaponSystemFactory(), **{parties: CountryFactory()})
    few = _queries(editor_client, url)
    for _ in range(6):
        factory(system=WeaponSystemFactory(), **{parties: CountryFactory()})
    many = _queries(editor_client, url)
    assert len(few) == len(many), many
    table = f'"transfers_{record}"'
    # no list filter reads every record (a DISTINCT over the table), no date hierarchy
    assert not [sql for sql in many if "DISTINCT" in sql.upper() and table in sql]
    assert not [sql for sql in many if "MIN(" in sql.upper() and table in sql]


def test_the_party_and_system_filters_offer_what_the_records_name(editor_client):
    family = WeaponSystemFactory(name="Family F")
    variant = WeaponSystemFactory(name="Variant F1", parent=family)
    WeaponSystemFactory(name="Never named")
    TransferFactory(system=variant, donor=state("US"))
    TransferFactory(
        system=WeaponSystemFactory(name="Other O"), donor=state("GB"), recipient=state("PL")
    )
    response = editor_client.get(reverse("admin:transfers_transfer_changelist"))
    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    donors = {label for _pk, label in specs["donor"].lookup_choices}
    assert donors == {str(state("US")), str(state("GB"))}
    recipients = {label for _pk, label in specs["recipient"].lookup_choices}
    assert recipients == {str(state("UA")), str(state("PL"))}
    systems = {label for _pk, label in specs["system or family"].lookup_choices}
    assert systems == {"Family F (family)", "Variant F1", "Other O"}
