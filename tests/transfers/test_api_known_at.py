"""`?known_at=` on the record endpoints: each record as it stood at a past moment, from the
history tables — created later: absent; deleted later: present; fields, citations, their
sources and a movement's roles as they were then."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import (
    CitationFactory,
    PledgeFactory,
    SourceFactory,
    TransferFactory,
    WeaponSystemFactory,
    state,
)
from transfers.choices import PartyRoleKind, PolicyKind
from transfers.models import Citation, Transfer
from transfers.services import (
    citation_delete,
    party_role_create,
    policy_create,
    record_delete,
    record_update,
    source_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def past(db):
    """A world at `before`, then corrected: the kept transfer 10 → 20 (a citation added, its
    source retitled), the gone transfer deleted, the late transfer created."""
    system = WeaponSystemFactory(name="Gepard")
    source = SourceFactory(title="Old title")
    kept = TransferFactory(system=system, donor=state("DE"), quantity_low=10, quantity_high=10)
    first = CitationFactory(transfer=kept, source=source, excerpt="ten sent")
    gone = TransferFactory(system=system, donor=state("DE"), quantity_low=3, quantity_high=3)
    uncited = TransferFactory(system=system, donor=state("PL"), quantity_low=1, quantity_high=1)
    pledge = PledgeFactory(system=system, donor=state("DE"), quantity_low=5, quantity_high=5)
    party_role_create(movement=pledge, party=state("PL"), role=PartyRoleKind.FINANCER)
    before = timezone.now()
    record_update(record=kept, quantity_low=20, quantity_high=20, quantity_text="20")
    CitationFactory(transfer=kept, excerpt="twenty in all")
    source_update(source=source, title="New title")
    record_delete(record=Transfer.objects.get(pk=gone.pk))
    citation_delete(citation=Citation.objects.get(pk=first.pk))
    late = TransferFactory(system=system, donor=state("DE"), quantity_low=7, quantity_high=7)
    party_role_create(movement=pledge, party=state("GB"), role=PartyRoleKind.ARRANGER)
    policy_create(
        party=state("DE"), kind=PolicyKind.WILL_NOT_TRANSFER, system=system, statement="No more"
    )
    return {
        "system": system,
        "kept": kept,
        "gone": gone,
        "late": late,
        "uncited": uncited,
        "pledge": pledge,
        "source": source,
        "before": before.isoformat(),
    }


def _get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_list_as_known_at_holds_the_records_as_they_stood_then(api_client_for, viewer, past):
    client = api_client_for(viewer)
    now = _get(client, "/api/v1/transfers/", system=past["system"].pk)
    then = _get(client, "/api/v1/transfers/", system=past["system"].pk, known_at=past["before"])
    assert {r["id"]: r["quantity_low"] for r in now["results"]} == {
        past["kept"].pk: 20,
        past["uncited"].pk: 1,
        past["late"].pk: 7,
    }
    # the late one is absent, the deleted one present, the corrected one as it was
    assert {r["id"]: r["quantity_low"] for r in then["results"]} == {
        past["kept"].pk: 10,
        past["gone"].pk: 3,
        past["uncited"].pk: 1,
    }
    assert then["count"] == 3
    kept = next(r for r in then["results"] if r["id"] == past["kept"].pk)
    assert [c["excerpt"] for c in kept["citations"]] == ["ten sent"]
    assert kept["citations"][0]["source"]["title"] == "Old title"
    assert kept["unsourced"] is False
    assert kept["quantity_display"] == "10"
    assert kept["donor"]["code"] == "DE"
    uncited = next(r for r in then["results"] if r["id"] == past["uncited"].pk)
    assert uncited["unsourced"] is True and uncited["citations"] == []


def test_a_detail_as_known_at_shows_the_record_then_even_once_deleted(api_client_for, viewer, past):
    client = api_client_for(viewer)
    kept = _get(client, f"/api/v1/transfers/{past['kept'].pk}/", known_at=past["before"])
    assert kept["quantity_low"] == 10 and kept["quantity_text"] == "10"
    gone = f"/api/v1/transfers/{past['gone'].pk}/"
    assert client.get(gone).status_code == 404
    assert _get(client, gone, known_at=past["before"])["quantity_low"] == 3
    late = client.get(f"/api/v1/transfers/{past['late'].pk}/", {"known_at": past["before"]})
    assert late.status_code == 404
    # before anything was recorded nothing existed
    early = client.get(f"/api/v1/transfers/{past['kept'].pk}/", {"known_at": "2001-01-01"})
    assert early.status_code == 404


def test_filters_and_ordering_apply_to_the_records_as_they_were(api_client_for, viewer, past):
    client = api_client_for(viewer)
    then = _get(
        client,
        "/api/v1/transfers/",
        known_at=past["before"],
        donor="DE",
        ordering="quantity_low",
    )
    assert [r["id"] for r in then["results"]] == [past["gone"].pk, past["kept"].pk]
    # 10 then, 20 now: a filter on the quantity reads the value as it was
    wide = _get(client, "/api/v1/transfers/", known_at=past["before"], ordering="-quantity_low")
    assert wide["results"][0]["quantity_low"] == 10


def test_a_movement_shows_its_roles_and_the_policies_as_they_were(api_client_for, viewer, past):
    client = api_client_for(viewer)
    url = f"/api/v1/pledges/{past['pledge'].pk}/"
    now, then = _get(client, url), _get(client, url, known_at=past["before"])
    assert sorted(r["role"] for r in now["roles"]) == ["arranger", "financer"]
    assert [r["role"] for r in then["roles"]] == ["financer"]
    assert [p["statement"] for p in now["policies"]] == ["No more"]
    assert then["policies"] == []
    listed = _get(client, "/api/v1/pledges/", known_at=past["before"])
    assert [r["roles"][0]["party"]["code"] for r in listed["results"]] == ["PL"]
    assert listed["results"][0]["policies"] == []


def test_sources_and_citations_as_known_at(api_client_for, viewer, past):
    client = api_client_for(viewer)
    source = _get(client, f"/api/v1/sources/{past['source'].pk}/", known_at=past["before"])
    assert source["title"] == "Old title"
    listed = _get(client, "/api/v1/sources/", known_at=past["before"])
    counts = {r["id"]: r["citation_count"] for r in listed["results"]}
    assert counts[past["source"].pk] == 1
    assert _get(client, f"/api/v1/sources/{past['source'].pk}/")["citation_count"] == 0
    cited = _get(client, "/api/v1/citations/", known_at=past["before"])
    assert [c["excerpt"] for c in cited["results"]] == ["ten sent"]
    assert cited["results"][0]["source"]["title"] == "Old title"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"known_at": "last tuesday"}, "known_at"),
        ({"known_at": "2024-13-01"}, "known_at"),
        ({"known_at": "2024-03-01", "grade": "B2"}, "grade"),
        ({"known_at": "2024-03-01", "unsourced": "true"}, "unsourced"),
        ({"known_at": "2024-03-01", "via": "PL"}, "via"),
        ({"known_at": "2024-03-01", "search": "Gepard"}, "search"),
        ({"known_at": "2024-03-01", "donor": "Atlantis"}, "donor"),
    ],
)
def test_a_bad_known_at_or_what_it_cannot_combine_with_is_a_400_naming_it(
    api_client_for, viewer, past, params, named
):
    response = api_client_for(viewer).get("/api/v1/transfers/", params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [named]
    if named == "known_at":
        assert repr(params["known_at"]) in body["known_at"][0]


def test_known_at_is_refused_on_writes_and_writes_nothing(api_client_for, editor, past):
    response = api_client_for(editor).patch(
        f"/api/v1/transfers/{past['kept'].pk}/?known_at=2024-03-01",
        {"quantity_low": 1, "quantity_high": 1},
        format="json",
        HTTP_IF_MATCH="*",
    )
    assert response.status_code == 400 and "known_at" in response.json()
    assert Transfer.objects.get(pk=past["kept"].pk).quantity_low == 20


def test_a_list_as_known_at_runs_a_fixed_number_of_queries(
    api_client_for, viewer, past, django_assert_num_queries, django_assert_max_num_queries
):
    """Authentication, the count, the page, the citations and their sources (and the roles;
    for pledges the systems' lineage and the policies), whatever the page's size (a page
    whose citations cite nothing skips the sources' query). On PostgreSQL the permissions
    ride in the token's query (one fewer)."""
    from django.db import connection

    fewer = 1 if connection.vendor == "postgresql" else 0
    queries = {name: count - fewer for name, count in QUERIES.items()}
    client = api_client_for(viewer)
    client.get("/api/v1/transfers/", {"known_at": past["before"]})  # the token's last use
    for size in (1, 3):
        with django_assert_max_num_queries(queries["transfers"]):
            _get(client, "/api/v1/transfers/", known_at=past["before"], page_size=size)
        with django_assert_num_queries(queries["pledges"]):
            _get(client, "/api/v1/pledges/", known_at=past["before"], page_size=size)
    for _ in range(5):
        TransferFactory(system=past["system"], quantity_low=2, quantity_high=2)
    later = (timezone.now() + dt.timedelta(seconds=1)).isoformat()
    with django_assert_num_queries(queries["transfers"]):
        assert _get(client, "/api/v1/transfers/", known_at=later, page_size=50)["count"] == 8


QUERIES = {"transfers": 7, "pledges": 8}


def test_the_schema_documents_known_at_on_lists_and_details(client, settings):
    settings.STOCKPILE_PUBLIC = True
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/api/v1/transfers/", "/api/v1/transfers/{id}/", "/api/v1/sources/"):
        names = [p["name"] for p in schema["paths"][path]["get"]["parameters"]]
        assert "known_at" in names, path
    patch = schema["paths"]["/api/v1/transfers/{id}/"]["patch"].get("parameters", [])
    assert "known_at" not in [p["name"] for p in patch]
