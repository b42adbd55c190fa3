"""The record lists filter as the API does: recipient, donor, system or family, grade,
date range, unsourced."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import (
    CitationFactory,
    SourceFactory,
    TransferFactory,
    WeaponSystemFactory,
    state,
)

pytestmark = pytest.mark.django_db

LIST = reverse("admin:transfers_transfer_changelist")


def _ids(client, **params) -> set[int]:
    response = client.get(LIST, params)
    assert response.status_code == 200, response.content.decode()[:500]
    assert "cl" in response.context, "the list refused the parameters"
    return {record.pk for record in response.context["cl"].result_list}


@pytest.fixture
def transfers(db):
    atacms = WeaponSystemFactory(name="ATACMS")
    block = WeaponSystemFactory(name="ATACMS Block IA", parent=atacms)
    storm = WeaponSystemFactory(name="Storm Shadow")
    a = TransferFactory(system=block, donor=state("US"), date=dt.date(2023, 10, 17))
    b = TransferFactory(system=storm, donor=state("GB"), date=dt.date(2024, 11, 20))
    c = TransferFactory(
        system=atacms, donor=state("US"), recipient=state("PL"), date=dt.date(2025, 1, 5)
    )
    CitationFactory(transfer=a, source=SourceFactory(reliability="B"), credibility=2)
    CitationFactory(transfer=b, source=SourceFactory(reliability="D"), credibility=4)
    return {"a": a, "b": b, "c": c, "atacms": atacms, "block": block}


def test_recipient_donor_and_system_family(editor_client, transfers):
    a, c = transfers["a"], transfers["c"]
    assert _ids(editor_client, recipient__id__exact=state("PL").pk) == {c.pk}
    assert _ids(editor_client, donor__id__exact=state("US").pk) == {a.pk, c.pk}
    assert _ids(editor_client, system_family=transfers["atacms"].pk) == {a.pk, c.pk}
    assert _ids(editor_client, system_family=transfers["block"].pk) == {a.pk}
    page = editor_client.get(LIST).content.decode()
    assert "ATACMS (family)" in page


def test_grade_at_least(editor_client, transfers):
    assert _ids(editor_client, grade="B2") == {transfers["a"].pk}
    assert _ids(editor_client, grade="D4") == {transfers["a"].pk, transfers["b"].pk}


def test_date_range_typed_at_any_precision(editor_client, transfers):
    a, b, c = transfers["a"], transfers["b"], transfers["c"]
    assert _ids(editor_client, date__gte="2024") == {b.pk, c.pk}
    assert _ids(editor_client, date__lte="2024") == {a.pk, b.pk}
    assert _ids(editor_client, date__gte="2024-11", date__lte="2024-11") == {b.pk}
    assert _ids(editor_client, date__gte="2023-10-17", date__lte="2023-10-17") == {a.pk}
    page = editor_client.get(LIST, {"date__gte": "2024", "sourced": "yes"}).content.decode()
    assert 'name="sourced" value="yes"' in page  # other filters survive the range form


def test_unsourced(editor_client, transfers):
    assert _ids(editor_client, sourced="no") == {transfers["c"].pk}


def test_a_bad_date_is_refused_not_ignored(editor_client, transfers):
    response = editor_client.get(LIST, {"date__gte": "last week"})
    assert response.status_code == 302  # the admin's answer to bad lookups: ?e=1
    assert "e=1" in response["Location"]
