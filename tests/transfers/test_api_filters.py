"""Filters named after the fields; unknown or malformed parameters are 400s naming them;
search, ordering and pagination; and query counts that do not grow with the page size on
every list endpoint."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.models import WeaponSystem
from tests.factories import (
    AuthorizationFactory,
    CitationFactory,
    CountryAliasFactory,
    ExpenditureFactory,
    HoldingFactory,
    PledgeFactory,
    SourceFactory,
    TransferFactory,
    WeaponSystemAliasFactory,
    WeaponSystemFactory,
    state,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_for, viewer):
    return api_client_for(viewer)


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_parties_by_code_alias_or_id(api):
    to_ua = TransferFactory(donor=state("GB"), recipient=state("UA"))
    to_pl = TransferFactory(donor=state("US"), recipient=state("PL"))
    assert ids(api.get("/api/v1/transfers/?recipient=UA")) == [to_ua.pk]
    assert ids(api.get("/api/v1/transfers/?donor=United States of America")) == [to_pl.pk]
    assert ids(api.get(f"/api/v1/transfers/?recipient={state('PL').pk},UA")) == sorted(
        [to_ua.pk, to_pl.pk]
    )
    response = api.get("/api/v1/transfers/?donor=Atlantis")
    assert response.status_code == 400 and "Atlantis" in response.json()["donor"][0]


def test_undisclosed_donors(api):
    undisclosed = PledgeFactory(donor=None)
    PledgeFactory()
    assert ids(api.get("/api/v1/pledges/?donor=undisclosed")) == [undisclosed.pk]


def test_system_and_system_family(api):
    family = WeaponSystemFactory(name="ATACMS")
    WeaponSystemAliasFactory(system=family, alias="MGM-140", alias_normalized="mgm 140")
    variant = WeaponSystemFactory(name="ATACMS Block IA", parent=family)
    deeper = WeaponSystemFactory(name="ATACMS Block IA Unitary", parent=variant)
    records = [TransferFactory(system=s) for s in (family, variant, deeper)]
    other = TransferFactory()
    assert ids(api.get("/api/v1/transfers/?system=ATACMS")) == [records[0].pk]
    assert ids(api.get("/api/v1/transfers/?system=MGM-140")) == [records[0].pk]
    assert ids(api.get("/api/v1/transfers/?system_family=MGM-140")) == [r.pk for r in records]
    assert ids(api.get(f"/api/v1/transfers/?system_family={variant.pk}")) == [
        r.pk for r in records[1:]
    ]
    assert other.pk not in ids(api.get("/api/v1/transfers/?system_family=ATACMS"))
    systems = api.get(f"/api/v1/systems/?system_family={family.pk}").json()["results"]
    assert {row["family"]["name"] for row in systems} == {"ATACMS"}


def test_dates_status_and_unsourced(api):
    early = PledgeFactory(date=dt.date(2022, 3, 1), status="delivered")
    late = PledgeFactory(date=dt.date(2024, 11, 1))
    CitationFactory(transfer=None, pledge=late)
    assert ids(api.get("/api/v1/pledges/?date_after=2023-01-01")) == [late.pk]
    assert ids(api.get("/api/v1/pledges/?date_before=2023-01-01&status=delivered")) == [early.pk]
    assert ids(api.get("/api/v1/pledges/?unsourced=true")) == [early.pk]
    assert ids(api.get("/api/v1/pledges/?unsourced=false")) == [late.pk]


def test_grades(api):
    graded = CitationFactory(source=SourceFactory(reliability="B"), credibility=2).transfer
    CitationFactory(reliability="E", credibility=5)
    assert ids(api.get("/api/v1/transfers/?grade=B2")) == [graded.pk]
    assert ids(api.get("/api/v1/transfers/?reliability=A,B")) == [graded.pk]
    assert ids(api.get("/api/v1/transfers/?credibility=1,2")) == [graded.pk]
    assert len(ids(api.get("/api/v1/citations/?reliability=E"))) == 1


@pytest.mark.parametrize(
    "query, param",
    [
        ("donr=UA", "donr"),
        ("date_after=yesterday", "date_after"),
        ("date_after=2024-02-01&date_before=2024-01-01", "date_after"),
        ("unsourced=maybe", "unsourced"),
        ("grade=Z9", "grade"),
        ("reliability=G", "reliability"),
        ("credibility=7", "credibility"),
        ("basis=gift", "basis"),
        ("ordering=price", "ordering"),
        ("page_size=0", "page_size"),
        ("page_size=100000", "page_size"),
        ("page=first", "page"),
        ("system=no-such-thing", "system"),
        ("recipient=ZZ", "recipient"),
    ],
)
def test_unknown_or_malformed_parameters_are_400s_naming_them(api, query, param):
    TransferFactory()
    response = api.get(f"/api/v1/transfers/?{query}")
    assert response.status_code == 400, response.content
    assert param in response.json()


def test_detail_views_refuse_unknown_parameters(api):
    transfer = TransferFactory()
    response = api.get(f"/api/v1/transfers/{transfer.pk}/?donor=UA")
    assert response.status_code == 400 and "donor" in response.json()


def test_search_ordering_and_pagination(api):
    system = WeaponSystemFactory(name="Storm Shadow")
    WeaponSystemAliasFactory(system=system, alias="SCALP-EG", alias_normalized="scalp eg")
    hits = [
        TransferFactory(system=system, quantity_low=n, quantity_high=n, quantity_text=str(n))
        for n in (5, 1, 3)
    ]
    TransferFactory()
    assert ids(api.get("/api/v1/transfers/?search=SCALP")) == sorted(h.pk for h in hits)
    ordered = api.get("/api/v1/transfers/?search=storm&ordering=-quantity_low").json()["results"]
    assert [row["quantity_low"] for row in ordered] == [5, 3, 1]
    page = api.get("/api/v1/transfers/?page_size=2&page=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["previous"]
    assert api.get("/api/v1/transfers/?page=9").status_code == 404


def test_countries_by_code_and_alias_search(api):
    CountryAliasFactory(
        country=state("AE"), alias="Trucial States", alias_normalized="trucial states"
    )
    assert [row["code"] for row in api.get("/api/v1/countries/?code=ae").json()["results"]] == [
        "AE"
    ]
    assert "AE" in [
        row["code"] for row in api.get("/api/v1/countries/?search=Trucial").json()["results"]
    ]
    assert api.get("/api/v1/countries/?kind=planet").status_code == 400


# -- query counts ---------------------------------------------------------------------------


def _populate(n: int) -> None:
    family = WeaponSystemFactory()
    for _ in range(n):
        system = WeaponSystemFactory(parent=family)
        WeaponSystemAliasFactory(system=system)
        source = SourceFactory()
        CitationFactory(source=source, transfer=TransferFactory(system=system))
        CitationFactory(source=source, transfer=None, holding=HoldingFactory(system=system))
        CitationFactory(source=source, transfer=None, pledge=PledgeFactory(system=system))
        CitationFactory(source=source, transfer=None, expenditure=ExpenditureFactory(system=system))
        CitationFactory(
            source=source, transfer=None, authorization=AuthorizationFactory(system=system)
        )


LIST_URLS = [
    "/api/v1/transfers/",
    "/api/v1/holdings/",
    "/api/v1/pledges/",
    "/api/v1/expenditures/",
    "/api/v1/authorizations/",
    "/api/v1/sources/",
    "/api/v1/citations/",
    "/api/v1/countries/",
    "/api/v1/systems/",
    "/api/v1/history/?model=transfer",
    "HISTORY_OF_ONE",
]


def _count_queries(client, url: str) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("url", LIST_URLS)
def test_list_queries_do_not_grow_with_the_page_size(api, url, django_assert_max_num_queries):
    _populate(12)
    if url == "HISTORY_OF_ONE":
        transfer = TransferFactory()
        for n in range(12):
            transfer.notes = str(n)
            transfer.save()
        url = f"/api/v1/transfers/{transfer.pk}/history/"
    joiner = "&" if "?" in url else "?"
    small, small_rows = _count_queries(api, f"{url}{joiner}page_size=2")
    large, large_rows = _count_queries(api, f"{url}{joiner}page_size=10")
    assert small_rows == 2 and large_rows == 10
    assert large == small, f"{url}: {small} queries for 2 rows, {large} for 10"
    with django_assert_max_num_queries(12):
        api.get(f"{url}{joiner}page_size=10")
    assert WeaponSystem.objects.count() > 10


# -- the row read path ------------------------------------------------------------------------

ROW_PATH_URLS = [
    "/api/v1/transfers/?page_size=20",
    "/api/v1/transfers/?ordering=quantity_low&page=2&page_size=3",
    "/api/v1/transfers/?search=storm&unsourced=false",
    "/api/v1/transfers/?format=csv",
    "/api/v1/holdings/",
    "/api/v1/pledges/",
    "/api/v1/expenditures/",
    "/api/v1/authorizations/",
    "/api/v1/sources/",
    "/api/v1/citations/",
    "/api/v1/systems/",
]


@pytest.mark.parametrize("url", ROW_PATH_URLS)
def test_lists_read_as_rows_answer_what_model_instances_would(api, url, monkeypatch):
    """The fast list path (values() rows, core.api.rows) gives the same bytes as
    serializing model instances, unsourced records, nullable parties and pledges included."""
    import core.api.viewsets as viewsets

    _populate(4)
    TransferFactory(system=WeaponSystemFactory(name="Storm Shadow"), notes="unsourced")
    HoldingFactory(supplier=None)
    PledgeFactory(donor=None)
    pledge = PledgeFactory()
    CitationFactory(
        transfer=TransferFactory(pledge=pledge, donor=pledge.donor, quantity_text="dozens (storm)")
    )
    used = []
    real = viewsets.cached_row_plan

    def spy(*args, **kwargs):
        plan = real(*args, **kwargs)
        used.append(plan is not None)
        return plan

    monkeypatch.setattr(viewsets, "cached_row_plan", spy)
    fast = api.get(url)
    monkeypatch.setattr(viewsets, "cached_row_plan", lambda *args, **kwargs: None)
    slow = api.get(url)
    assert used == [True], f"{url} did not take the row path"
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content


PAGE_EDGE_URLS = [
    "/api/v1/transfers/?page_size=3&page=last",
    "/api/v1/transfers/?page_size=3&page=2",
    "/api/v1/transfers/?page_size=3&page=9",  # past the end: 404
    "/api/v1/transfers/?page_size=3&donor=XX",  # an empty list
    "/api/v1/transfers/?page_size=3&page=2&donor=XX",  # past the end of an empty list
]


@pytest.mark.parametrize("url", PAGE_EDGE_URLS)
def test_the_count_read_with_the_rows_pages_as_the_paginator_did(api, url, monkeypatch):
    """The row path reads the count in the page's query; past the end, on an empty list and
    on page=last it answers what DRF's paginator answers."""
    import core.api.viewsets as viewsets

    _populate(4)
    fast = api.get(url)
    monkeypatch.setattr(viewsets, "cached_row_plan", lambda *args, **kwargs: None)
    slow = api.get(url)
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content
    if fast.status_code == 200:
        assert fast.json()["count"] == slow.json()["count"]


def test_a_list_page_costs_four_queries_with_a_token(api, django_assert_num_queries):
    """Token and user with, on PostgreSQL, the user's and groups' permissions (elsewhere
    those are a second query, one UNION), the page's rows with the count, their citations
    with their sources, their party roles (issue 17)."""
    from django.db import connection

    _populate(6)
    with django_assert_num_queries(4 if connection.vendor == "postgresql" else 5):
        response = api.get("/api/v1/transfers/?page_size=5")
    assert response.status_code == 200
    from transfers.models import Transfer

    body = response.json()
    assert body["count"] == Transfer.objects.count() == 6
    assert len(body["results"]) == 5 and body["next"]


def test_permissions_read_in_one_query_still_follow_user_and_group(api_client_for, viewer):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    nobody = UserFactory(username="nobody", role=None)
    assert api_client_for(nobody).get("/api/v1/transfers/").status_code == 403
    nobody.user_permissions.add(Permission.objects.get(codename="view_transfer"))
    assert api_client_for(nobody).get("/api/v1/transfers/").status_code == 200
    assert api_client_for(nobody).get("/api/v1/pledges/").status_code == 403
    assert api_client_for(viewer).get("/api/v1/pledges/").status_code == 200  # by group
