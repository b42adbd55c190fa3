"""The designation normalizer, on names the public datasets really use (SIPRI 2026 and classic
exports, Oryx's supplied and losses lists, the Kiel tracker)."""

from __future__ import annotations

import pytest

from inventory.designations import (
    alternative_keys,
    designation_key,
    designation_text,
    family_key,
)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("155mm M777A2 howitzer", "M777A2"),  # Oryx losses
        ("UFH 155mm", "UFH"),  # SIPRI
        ("M777 howitzer", "M777"),  # Kiel
        ("CAESAR 155mm -", "CAESAR"),  # SIPRI 2026's trailing " -"
        ("155mm ShKH Zuzana 2s*", "ShKH Zuzana 2"),  # Oryx plural and star
        ("AHS Krab self-propelled howitzer", "AHS Krab"),
        ("Storm Shadow Cruise Missile", "Storm Shadow"),
        ("OTO Melara Mod 56 Towed Howitzer 105/14", "OTO Melara Mod 56"),
        ("Modified T-72 tank (T-72A/T-72M1/M1R)", "T-72"),
        ("infantry fighting vehicle MARDER", "MARDER"),
        ("Iris-T SLM air defence system", "Iris-T SLM"),
        ("10 155mm M777A2 howitzer", "M777A2"),  # a tally prefix before a calibre
        ("23 ItK 61", "23 ItK 61"),  # a designation that starts with a number stays
    ],
)
def test_designation_text_drops_calibre_role_words_and_decoration(name, text):
    assert designation_text(name) == text


@pytest.mark.parametrize(
    "names",
    [
        ["Leopard-2A4", "Leopard 2A4", "Leopard 2A4 MBT", "leopard 2a4 tank"],
        ["M-109A5 155mm", "155mm M109A5", "155mm M109A5 "],
        ["PzH-2000 155mm", "155mm PzH 2000", "PzH 2000"],
        ["Challenger-2", "Challenger 2"],
        ["M-1A1 Abrams", "M1A1 Abrams'", "M1A1 Abrams"],
        ["AMX-10RC", "AMX-10 RC(R)"],
        ["155mm M777", "M777 howitzer", "M-777"],
        ["AS-90 howitzer", "155mm AS-90"],
        ["Krab 155mm -", "Krab 155mm", "Krab"],
        ["SCALP-EG", "SCALP EG Cruise Missile"],
    ],
)
def test_spellings_of_one_designation_have_one_key(names):
    assert len({designation_key(name) for name in names}) == 1, [designation_key(n) for n in names]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Leopard-2A4", "Leopard-2A6"),
        ("Patriot Battery", "Patriot Launcher"),  # what is counted differs
        ("IRIS-T SLM", "IRIS-T SLS Launcher"),
        ("Spartan UK", "Spartan CAN"),
        ("155mm Caesar 6x6", "155mm Caesar 8x8"),
    ],
)
def test_different_systems_keep_different_keys(a, b):
    assert designation_key(a) != designation_key(b)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("155mm M777A2 howitzer", "m777"),
        ("M777", "m777"),
        ("Leopard-2A4", "leopard2"),
        ("Leopard 2A6", "leopard2"),
        ("Leopard 1A5BE", "leopard1"),
        ("T-72M1", "t72"),
        ("T-72EA", "t72"),
        ("T-72M/M1(R)", "t72"),
        ("AS-90B 155mm", "as90"),
        ("M109 A3GM 155mm howitzer", "m109"),  # Kiel writes the suffix apart
        ("155mm M109A3/A4/A5/A6/L", "m109"),
        ("M2A2 Bradley ODS-SA", "m2"),
        ("M-113A3", "m113"),
        ("M113AS4", "m113"),
        ("227mm M270A1 MLRS-I", "m270"),
        ("155mm Caesar 6x6", "caesar"),  # wheels are no model number
        ("PzH-2000 155mm", "pzh2000"),  # no variant suffix: its own family
        ("2S1 122mm", "2s1"),
        ("Storm Shadow/SCALP-EG", "stormshadow"),  # the first of two names
        ("UFH/M-777 155mm", "ufh"),
    ],
)
def test_family_key_drops_the_variant_suffix(name, family):
    assert family_key(name) == family


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("UFH/M-777 155mm", ["ufh", "m777"]),
        ("Storm Shadow/SCALP-EG", ["stormshadow", "scalpeg"]),
        ("National Advanced Surface-to-Air Missile System (NASAMS)", ["nasams"]),
        ("155mm M109A3/A4/A5", ["m109a3", "m109a4", "m109a5"]),
        ("T-72M/M1(R)", ["t72m", "t72m1"]),
        ("Leopard 2A4", []),
    ],
)
def test_alternative_keys_are_the_other_names_a_name_carries(name, keys):
    assert alternative_keys(name) == keys


def test_names_without_letters_or_digits_have_empty_keys():
    assert designation_key("  - ") == ""
    assert family_key("") == ""
    assert alternative_keys("") == []
