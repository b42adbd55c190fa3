"""The catalogue over the API: countries with aliases, systems with aliases and families."""

from __future__ import annotations

import pytest

from inventory.models import Country, CountryAlias, WeaponSystem
from tests.factories import WeaponSystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_api(api_client_for, editor):
    return api_client_for(editor)


def test_a_country_is_created_with_aliases_and_found_by_them(editor_api):
    response = editor_api.post(
        "/api/v1/countries/",
        {"code": "WAGNER", "name": "Wagner Group", "kind": "non_state", "aliases": ["PMC Wagner"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert set(response.json()["aliases"]) == {"Wagner Group", "PMC Wagner"}
    assert editor_api.get("/api/v1/countries/?search=PMC Wagner").json()["count"] == 1
    pk = response.json()["id"]
    patched = editor_api.patch(
        f"/api/v1/countries/{pk}/", {"aliases": ["Wagner PMC"]}, format="json", HTTP_IF_MATCH="*"
    )
    assert patched.status_code == 200 and "Wagner PMC" in patched.json()["aliases"]
    assert CountryAlias.objects.filter(country_id=pk).count() == 3


def test_a_state_code_must_be_iso(editor_api):
    before = Country.objects.count()
    response = editor_api.post(
        "/api/v1/countries/", {"code": "XYZ1", "name": "Nowhere"}, format="json"
    )
    assert response.status_code == 400 and "code" in response.json()
    assert Country.objects.count() == before


def test_a_system_variant_names_its_family(editor_api):
    family = WeaponSystemFactory(name="ATACMS")
    response = editor_api.post(
        "/api/v1/systems/",
        {
            "name": "ATACMS Block IA",
            "parent": "ATACMS",
            "origin": "US",
            "range_km": 300,
            "aliases": [{"alias": "M39A1", "kind": "designation"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["parent"] == {"id": family.pk, "name": "ATACMS"}
    assert data["family"]["name"] == "ATACMS" and data["origin"]["code"] == "US"
    listed = editor_api.get("/api/v1/systems/?system=M39A1")
    assert listed.status_code == 400  # `system` is not a filter of systems: use system_family
    assert editor_api.get("/api/v1/systems/?system_family=M39A1").json()["count"] == 1


def test_a_system_cannot_become_its_own_ancestor(editor_api):
    family = WeaponSystemFactory()
    variant = WeaponSystemFactory(parent=family)
    response = editor_api.patch(
        f"/api/v1/systems/{family.pk}/", {"parent": variant.pk}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 400 and "parent" in response.json()
    assert WeaponSystem.objects.get(pk=family.pk).parent_id is None


def test_a_system_with_variants_cannot_be_deleted(api_client_for, administrator):
    family = WeaponSystemFactory()
    WeaponSystemFactory(parent=family)
    response = api_client_for(administrator).delete(
        f"/api/v1/systems/{family.pk}/", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 409 and "Still referenced" in response.json()["detail"]
