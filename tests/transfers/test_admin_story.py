"""The story page: PRODUCT.md's late-November-2024 report entered in one form, the source
named once; one bad line writes nothing and names the field and the value."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from stock.models import LedgerEntry
from tests.factories import WeaponSystemAliasFactory, WeaponSystemFactory
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Source, Transfer

pytestmark = pytest.mark.django_db

STORY = reverse("admin:transfers_story")
ANON = {"attribution": "anonymous", "credibility": "3"}

# PRODUCT.md's worked example, one line per claim.
SEED_CLAIMS = [
    dict(
        kind="pledge:under_discussion",
        to_parties="Ukraine",
        system="ATACMS",
        quantity="unknown",
        excerpt="talking to third countries about giving Ukraine more ATACMS",
        details="The US will not send more ATACMS of its own.",
        **ANON,
    ),
    dict(
        kind="authorization:permit",
        from_party="USA",
        to_parties="UA",
        system="ATACMS",
        details="Strikes into some parts of Russia",
        excerpt="authorized Kyiv to fire ATACMS",
        attribution="unstated",
        credibility="2",
    ),
    dict(
        kind="authorization:permit",
        from_party="UK",
        to_parties="UA",
        system="SCALP-EG",
        details="Strikes into Russia",
        excerpt="the UK followed for Storm Shadow",
        attribution="unstated",
        credibility="2",
    ),
    dict(
        kind="expenditure:launched",
        to_parties="UA",
        system="MGM-140",
        quantity="unknown",
        details="Russia",
        excerpt="launched both into Russia in recent weeks",
        **ANON,
    ),
    dict(
        kind="expenditure:launched",
        to_parties="UA",
        system="Storm Shadow",
        quantity="unknown",
        details="Russia",
        excerpt="launched both into Russia in recent weeks",
        **ANON,
    ),
    dict(
        kind="transfer",
        from_party="UK",
        to_parties="UA",
        system="Storm Shadow",
        quantity="dozens more",
        excerpt='sent "dozens more" Storm Shadows',
        **ANON,
    ),
    dict(
        kind="holding:contracted",
        from_party="US",
        system="ATACMS",
        quantity="unknown",
        to_parties="South Korea, Taiwan, Romania, Poland, UAE",
        excerpt="have contracted ATACMS from the US",
        attribution="unstated",
        credibility="2",
    ),
]


@pytest.fixture
def systems(db):
    atacms = WeaponSystemFactory(name="ATACMS")
    WeaponSystemAliasFactory(system=atacms, alias="MGM-140", alias_normalized="mgm 140")
    storm = WeaponSystemFactory(name="Storm Shadow")
    WeaponSystemAliasFactory(system=storm, alias="SCALP-EG", alias_normalized="scalp eg")
    return atacms, storm


def story_post(claims, **source):
    data = {
        "source-title": "US in talks with third countries over more ATACMS for Ukraine",
        "source-publisher": "News agency",
        "source-published_on": "2024-11",
        "source-source_type": "news",
        "source-reliability": "B",
        "claims-TOTAL_FORMS": str(len(claims)),
        "claims-INITIAL_FORMS": "0",
        "claims-MIN_NUM_FORMS": "0",
        "claims-MAX_NUM_FORMS": "50",
    }
    data.update({f"source-{k}": v for k, v in source.items()})
    for index, claim in enumerate(claims):
        row = {"date": "2024-11", "attribution": "unstated", "credibility": "6", **claim}
        data.update({f"claims-{index}-{name}": value for name, value in row.items()})
    return data


def test_the_seed_story_is_entered_in_one_form(editor_client, systems):
    response = editor_client.post(STORY, story_post(SEED_CLAIMS))
    assert response.status_code == 302, _errors(response)
    source = Source.objects.get()
    assert (source.published_on, source.published_precision) == (dt.date(2024, 11, 1), "month")
    assert Pledge.objects.get().donor is None  # undisclosed donor
    assert Pledge.objects.get().status == "under_discussion"
    assert set(Authorization.objects.values_list("grantor__code", flat=True)) == {"US", "GB"}
    assert Expenditure.objects.count() == 2
    transfer = Transfer.objects.get()
    assert (transfer.quantity_text, transfer.date_precision) == ("dozens more", "month")
    assert set(Holding.objects.values_list("holder__code", flat=True)) == {
        "KR",
        "TW",
        "RO",
        "PL",
        "AE",
    }
    assert set(Holding.objects.values_list("supplier__code", flat=True)) == {"US"}
    assert Citation.objects.count() == 11
    assert set(Citation.objects.values_list("source", flat=True)) == {source.pk}
    assert Citation.objects.filter(attribution="anonymous", credibility=3).count() == 4
    assert LedgerEntry.objects.filter(origin_model="transfers.transfer").exists()
    page = editor_client.get(response["Location"]).content.decode()
    assert "The story is entered: 11 record(s)" in page


def test_one_bad_line_writes_nothing_and_names_the_field_and_value(editor_client, systems):
    claims = [*SEED_CLAIMS[:2], {**SEED_CLAIMS[5], "to_parties": "Atlantis"}]
    claims.append({**SEED_CLAIMS[4], "system": "Death Star", "date": "2024-13"})
    response = editor_client.post(STORY, story_post(claims))
    assert response.status_code == 200
    rows = response.context["claims"].forms
    assert "No party is known as 'Atlantis'" in rows[2].errors["to_parties"][0]
    assert "No weapon system is known as 'Death Star'" in rows[3].errors["system"][0]
    assert "not '2024-13'" in rows[3].errors["date"][0]
    assert not Source.objects.exists() and not Transfer.objects.exists()
    assert not Authorization.objects.exists()


def test_a_refusal_of_the_services_rolls_back_the_whole_story(editor_client, systems):
    # The donor cannot also be the recipient: refused by the model, after other rows saved.
    claims = [SEED_CLAIMS[0], {**SEED_CLAIMS[5], "from_party": "UA"}]
    response = editor_client.post(STORY, story_post(claims))
    assert response.status_code == 200
    assert "cannot also be the donor" in response.context["claims"].forms[1].errors["to_parties"][0]
    assert not Pledge.objects.exists() and not Source.objects.exists()


def test_an_existing_source_is_cited_by_url(editor_client, systems):
    from transfers.services import source_create

    existing = source_create(url="https://news.example.org/atacms", title="ATACMS talks")
    response = editor_client.post(
        STORY, story_post(SEED_CLAIMS[5:6], url="https://news.example.org/atacms/?utm_source=x")
    )
    assert response.status_code == 302, _errors(response)
    assert Transfer.objects.get().citations.get().source == existing


def test_viewers_cannot_enter_stories(viewer_client):
    assert viewer_client.get(STORY).status_code == 403


def test_the_page_renders_with_its_rows(editor_client, systems):
    page = editor_client.get(STORY).content.decode()
    assert 'name="claims-7-kind"' in page and '<option value="ATACMS">' in page


def _errors(response):
    if response.status_code != 200:
        return response.status_code
    return [response.context["source_form"].errors] + [
        form.errors for form in response.context["claims"].forms
    ]
