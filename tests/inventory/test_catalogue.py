"""Parties and systems are found by any of their names, codes and aliases."""

import pytest

from inventory.selectors import country_resolve, weapon_system_family_ids, weapon_system_resolve
from inventory.services import weapon_system_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["UAE", "United Arab Emirates", "AE", "ARE", "u.a.e", " uae "])
def test_country_found_by_name_code_or_alias(text):
    assert country_resolve(text).code == "AE"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("unknown supplier(s)", "XXU"),
        ("NATO**", "NATO"),
        ("Soviet Union", "SUN"),
        ("Czech Republic", "CZ"),
        ("South Korea", "KR"),
        ("Korea, South", "KR"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Hezbollah (Lebanon)*", "HEZ"),
    ],
)
def test_dataset_spellings_resolve_to_the_party(text, code):
    assert country_resolve(text).code == code


def test_unknown_names_resolve_to_nothing():
    assert country_resolve("Atlantis") is None
    assert country_resolve("") is None


def test_systems_found_by_designation_and_family_is_rolled_up():
    family = weapon_system_create(name="ATACMS", aliases=[("MGM-140", "designation")])
    block = weapon_system_create(
        name="ATACMS Block IA", parent=family, aliases=[("M39A1", "designation")]
    )
    assert weapon_system_resolve("mgm-140") == family
    assert weapon_system_resolve("M39A1") == block
    assert weapon_system_resolve("atacms block ia") == block
    assert weapon_system_resolve("Patriot") is None
    assert block.family == family
    assert set(weapon_system_family_ids(family)) == {family.pk, block.pk}
