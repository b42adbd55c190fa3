"""A list asked for no filter is not run through its filterset (building one is a tenth of a
page's time); a list asked for any filter, a range bound or an empty value still is."""

from __future__ import annotations

import pytest

from core.api.filters import names_a_filter
from tests.factories import TransferFactory, state
from transfers.api.filters import TransferFilterSet

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, False),
        ({"page": "2", "page_size": "10", "ordering": "-date", "search": "x"}, False),
        ({"donor": "GB"}, True),
        ({"date_after": "2024-01-01"}, True),
        ({"donor": ""}, True),
    ],
)
def test_which_requests_name_a_filter(params, named):
    assert names_a_filter(params, TransferFilterSet) is named


def test_lists_with_and_without_filters_answer_as_before(api_client_for, viewer, monkeypatch):
    api = api_client_for(viewer)
    from_gb = TransferFactory(donor=state("GB"))
    from_us = TransferFactory(donor=state("US"))
    built = []
    init = TransferFilterSet.__init__
    monkeypatch.setattr(
        TransferFilterSet, "__init__", lambda self, *a, **k: built.append(1) or init(self, *a, **k)
    )
    every = api.get("/api/v1/transfers/", {"page_size": 10}).json()
    assert {row["id"] for row in every["results"]} == {from_gb.pk, from_us.pk}
    assert every["count"] == 2 and built == []  # no filterset built
    some = api.get("/api/v1/transfers/", {"donor": "GB"}).json()
    assert [row["id"] for row in some["results"]] == [from_gb.pk] and built
    bad = api.get("/api/v1/transfers/", {"date_after": "last week"})
    assert bad.status_code == 400 and "date_after" in bad.json()
