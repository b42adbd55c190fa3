"""The admin autocomplete ranks what people type: exact code, alias or name first, then
prefixes, then the rest; historic parties after current ones; systems by name and alias."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from inventory.models import Country
from tests.factories import WeaponSystemFactory

pytestmark = pytest.mark.django_db


def _autocomplete(client, term, model="transfer", field="recipient") -> list[str]:
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": term, "app_label": "transfers", "model_name": model, "field_name": field},
    )
    assert response.status_code == 200, response.content
    return [row["text"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("UK", "United Kingdom"),
        ("uk", "United Kingdom"),
        ("GB", "United Kingdom"),
        ("US", "United States"),
        ("USA", "United States"),
        ("United States", "United States"),
        ("Korea", "South Korea"),
        ("ROK", "South Korea"),
        ("Republic of Korea", "South Korea"),
        ("DPRK", "North Korea"),
        ("Germany", "Germany"),
        ("GDR", "East Germany"),
        ("Ukr", "Ukraine"),
        ("UAE", "United Arab Emirates"),
    ],
)
def test_the_first_suggestion_is_what_was_typed(editor_client, typed, first):
    assert _autocomplete(editor_client, typed)[0] == first


def test_korea_lists_south_before_north_and_germany_lists_east_germany_last(editor_client):
    korea = _autocomplete(editor_client, "Korea")
    assert korea.index("South Korea") < korea.index("North Korea")
    germany = _autocomplete(editor_client, "Germany")
    assert germany[0] == "Germany"
    assert germany[-1] == "East Germany"


def test_united_states_comes_before_mexico_whose_official_name_holds_both_words(editor_client):
    found = _autocomplete(editor_client, "United States")
    assert found[0] == "United States"
    assert "Mexico" in found
    assert found.index("United States Minor Outlying Islands") < found.index("Mexico")


def test_historic_parties_come_after_current_ones_of_the_same_rank(editor_client):
    # "Soviet" is a prefix of the Soviet Union only; "union" is contained in both below.
    found = _autocomplete(editor_client, "Union")
    assert found.index("European Union") < found.index("Soviet Union")


def test_systems_rank_exact_alias_before_prefix_and_families_before_variants(editor_client):
    atacms = WeaponSystemFactory(name="ATACMS")
    atacms.aliases.create(alias="MGM-140", alias_normalized="mgm 140")
    WeaponSystemFactory(name="ATACMS Block IA", parent=atacms)
    WeaponSystemFactory(name="Anti-ATACMS trainer")
    assert _autocomplete(editor_client, "ATACMS", field="system") == [
        "ATACMS",
        "ATACMS Block IA",
        "Anti-ATACMS trainer",
    ]
    assert _autocomplete(editor_client, "mgm-140", field="system")[0] == "ATACMS"


def test_the_search_box_of_the_party_list_ranks_the_same_way(editor_client):
    response = editor_client.get(reverse("admin:inventory_country_changelist"), {"q": "UK"})
    names = [party.name for party in response.context["cl"].result_list]
    assert names[0] == "United Kingdom"
    assert "Ukraine" in names


def test_historic_parties_carry_their_lifespan_and_rok_dprk_are_aliases():
    ddr = Country.objects.get(code="DDR")
    assert ddr.existed_until == dt.date(1990, 10, 2)
    assert not ddr.existed_on(dt.date(2024, 11, 1))
    assert ddr.existed_on(dt.date(1990, 1, 1))
    assert Country.objects.get(aliases__alias="ROK").code == "KR"
    assert Country.objects.get(aliases__alias="DPRK").code == "KP"


def _api_search(client, path, term, **extra) -> list[str]:
    response = client.get(path, {"search": term, **extra})
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("UK", "United Kingdom"),
        ("USA", "United States"),
        ("Korea", "South Korea"),
        ("GDR", "East Germany"),
    ],
)
def test_the_api_search_ranks_parties_as_the_admin_does(api_client_for, viewer, typed, first):
    assert _api_search(api_client_for(viewer), "/api/v1/countries/", typed)[0] == first


def test_the_api_search_ranks_systems_and_an_explicit_ordering_still_wins(api_client_for, viewer):
    atacms = WeaponSystemFactory(name="ATACMS")
    WeaponSystemFactory(name="ATACMS Block IA", parent=atacms)
    WeaponSystemFactory(name="Anti-ATACMS trainer")
    client = api_client_for(viewer)
    assert _api_search(client, "/api/v1/systems/", "ATACMS") == [
        "ATACMS",
        "ATACMS Block IA",
        "Anti-ATACMS trainer",
    ]
    assert _api_search(client, "/api/v1/systems/", "ATACMS", ordering="-id") == [
        "Anti-ATACMS trainer",
        "ATACMS Block IA",
        "ATACMS",
    ]
    ukraine_first = _api_search(client, "/api/v1/countries/", "Ukraine")
    assert ukraine_first[0] == "Ukraine"
