"""The seed catalogue: loaded idempotently, refused whole when a row is wrong, and the names
an import could not resolve proposed, confirmed or rejected with who and when."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from inventory.catalogue import (
    SEED_PATH,
    CatalogueKeys,
    SeedRefused,
    alias_proposal_confirm,
    alias_proposal_reject,
    alias_proposals_propose,
    catalogue_seed,
    seed_read,
)
from inventory.models import SystemAliasProposal, WeaponSystem, WeaponSystemAlias
from tests.factories import UserFactory, WeaponSystemFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "name,family,sipri_category,unroca_category,counting_unit,"
    "sipri_names,oryx_names,kiel_names,other_names,notes"
)


def seed_text(*rows: str, version: str = "test.1") -> str:
    return "\n".join([f"# version: {version}", HEADER, *rows]) + "\n"


def catalogue_state():
    return (
        sorted(WeaponSystem.objects.values_list("name", "parent__name", "catalogued")),
        sorted(WeaponSystemAlias.objects.values_list("alias", "system__name")),
        WeaponSystem.history.count() + WeaponSystemAlias.history.count(),
    )


def test_the_project_seed_reads_and_covers_the_systems_the_samples_share():
    version, entries = seed_read(SEED_PATH.read_text(encoding="utf-8"))
    assert version
    names = {entry.name for entry in entries}
    for name in [
        "M777",
        "M142 HIMARS",
        "Bradley",
        "M1A1 Abrams",
        "M113",
        "CAESAR",
        "Krab",
        "AS-90",
        "M109",
        "Leopard 1A5",
        "Leopard 2A4",
        "Leopard 2A6",
        "Challenger 2",
        "T-72M1",
        "Storm Shadow",
        "ATACMS",
        "PzH 2000",
        "Gepard",
        "IRIS-T SLM system",
        "Patriot",
        "NASAMS",
        "Marder 1A3",
        "Stryker",
        "Zuzana 2",
    ]:
        assert name in names
    spellings = {text: entry.name for entry in entries for text, _, _ in entry.aliases}
    assert spellings["UFH 155mm"] == "M777"
    assert spellings["155mm M777A2 howitzer"] == "M777A2"
    assert spellings["SCALP EG Cruise Missile"] == "Storm Shadow"
    assert spellings["MGM-140"] == "ATACMS"


def test_seeding_twice_changes_nothing():
    first = catalogue_seed()
    assert first.created == first.entries > 100
    state = catalogue_state()
    again = catalogue_seed()
    assert (again.created, again.updated, again.aliases_added, again.absorbed) == (0, 0, 0, [])
    assert catalogue_state() == state
    m777a2 = WeaponSystem.objects.get(name="M777A2")
    assert m777a2.parent.name == "M777" and m777a2.catalogued
    assert m777a2.family.name == "M777"


def test_the_command_seeds_and_reports(tmp_path):
    out = io.StringIO()
    call_command("catalogue", "seed", stdout=out)
    assert "created" in out.getvalue()
    bad = tmp_path / "seed.csv"
    bad.write_text(seed_text("Thing,,artillery,IX,gun,,,,,"), encoding="utf-8")
    with pytest.raises(CommandError, match="unroca_category 'IX'"):
        call_command("catalogue", "seed", "--file", str(bad))


@pytest.mark.parametrize(
    ("rows", "column", "value"),
    [
        (["Thing,,tanks,,,,,,,"], "sipri_category", "tanks"),
        (["Thing,,,,,,,,,", "Other,Nothing,,,,,,,,"], "family", "Nothing"),
        (["A,,,,,X-1,,,,", "B,,,,,,x 1,,,"], "oryx_names", "x 1"),
        (["A,,,,,,,,,", "a,,,,,,,,,"], "name", "a"),
        (["A,,,,,--,,,,"], "sipri_names", "--"),
        (["A,,,,,,,,"], "row", "A,,,,,,,,"),
        (["A,,,,,,,,,", "B,A,,,,,,,,", "C,,,,bricks,,,,,"], "counting_unit", "bricks"),
    ],
)
def test_a_bad_seed_row_is_refused_naming_line_column_and_value_and_nothing_is_written(
    rows, column, value
):
    before = catalogue_state()
    with pytest.raises(SeedRefused) as refused:
        catalogue_seed(text=seed_text(*rows))
    assert refused.value.column == column
    assert refused.value.value == value
    assert refused.value.line >= 3  # the version line and the header come first
    assert catalogue_state() == before


def test_a_seed_name_that_names_another_catalogue_entry_is_refused_and_nothing_is_written():
    WeaponSystemFactory(name="Howitzer X", catalogued=True)
    WeaponSystemFactory(name="M1", catalogued=True)
    before = catalogue_state()
    with pytest.raises(SeedRefused, match="already names the catalogue entry Howitzer X"):
        catalogue_seed(text=seed_text("New Gun,,artillery,III,gun,,,,,", "M1,,,,,Howitzer X,,,,"))
    assert catalogue_state() == before
    assert not WeaponSystem.objects.filter(name="New Gun").exists()


def test_the_seed_merges_a_system_an_import_created_for_one_of_its_names():
    created = WeaponSystemFactory(name="UFH 155mm", catalogued=False)
    WeaponSystemAlias.objects.create(
        system=created, alias="UFH 155mm", alias_normalized="ufh 155mm", kind="dataset_spelling"
    )
    report = catalogue_seed(text=seed_text("M777,,artillery,III,gun,UFH 155mm,,,,"))
    assert report.absorbed == ["UFH 155mm → M777"]
    entry = WeaponSystem.objects.get(name="M777")
    assert WeaponSystemAlias.objects.get(alias_normalized="ufh 155mm").system == entry
    created.refresh_from_db()
    assert created.parent == entry and created.catalogued
    assert "Merged into M777" in created.notes


def test_the_seed_completes_an_editors_entry_without_overwriting_it():
    mine = WeaponSystemFactory(name="HIMARS", catalogued=True, sipri_category="", notes="mine")
    catalogue_seed(text=seed_text("M142 HIMARS,,artillery,III,launcher,HIMARS,,,,"))
    mine.refresh_from_db()
    assert mine.name == "HIMARS" and mine.notes == "mine"
    assert mine.sipri_category == "artillery"  # blank: filled
    assert mine.counting_unit == "vehicle"  # set by the editor: kept
    assert WeaponSystemAlias.objects.get(alias="M142 HIMARS").system == mine


def test_candidates_come_from_designation_alternatives_and_family():
    catalogue_seed()
    keys = CatalogueKeys()
    m777 = WeaponSystem.objects.get(name="M777")
    leopard2 = WeaponSystem.objects.get(name="Leopard 2")
    storm = WeaponSystem.objects.get(name="Storm Shadow")
    assert (
        keys.by_designation_of("Leopard 2A4 MBT") == WeaponSystem.objects.get(name="Leopard 2A4").pk
    )
    assert keys.candidates("155mm M777A3 howitzer") == [(m777.pk, "variant", "family")]
    assert keys.candidates("Leopard 2A7V") == [(leopard2.pk, "variant", "family")]
    assert keys.candidates("Black Shaheen/SCALP") == [(storm.pk, "alias", "alternative")]
    # another SIPRI category: no candidate (the M-48 tank is not the M48 missile)
    assert keys.candidates("M-48A5", "armoured_vehicles") == []
    assert keys.candidates("Something else entirely") == []


def test_proposals_are_made_once_and_a_rejection_is_never_proposed_again():
    catalogue_seed()
    name = WeaponSystemFactory(name="155mm M777A3 howitzer", catalogued=False)
    assert alias_proposals_propose() == 1
    assert alias_proposals_propose() == 0
    proposal = SystemAliasProposal.objects.get()
    assert (proposal.system, proposal.candidate.name, proposal.relation) == (
        name,
        "M777",
        "variant",
    )
    editor = UserFactory(username="ed")
    alias_proposal_reject(proposal=proposal, actor=editor, note="a different gun")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.decided_by_name) == (
        "rejected",
        editor,
        "ed",
    )
    assert proposal.decided_at is not None and proposal.note == "a different gun"
    assert alias_proposals_propose() == 0
    assert proposal.history.filter(history_user=editor, status="rejected").exists()
    with pytest.raises(ValidationError, match="already Rejected"):
        alias_proposal_confirm(proposal=proposal, actor=editor)


def test_confirming_a_variant_puts_the_name_in_the_family_and_closes_the_other_candidates():
    catalogue_seed()
    name = WeaponSystemFactory(name="Leopard 2A7V", catalogued=False)
    alias_proposals_propose()
    proposal = SystemAliasProposal.objects.get(system=name)
    other = SystemAliasProposal.objects.create(
        name=name.name,
        name_normalized="leopard 2a7v",
        system=name,
        candidate=WeaponSystem.objects.get(name="Leopard 1"),
        relation="variant",
        method="family",
    )
    editor = UserFactory()
    alias_proposal_confirm(proposal=proposal, actor=editor)
    name.refresh_from_db()
    assert name.parent.name == "Leopard 2" and name.catalogued
    other.refresh_from_db()
    assert other.status == "rejected" and other.decided_by == editor


def test_an_editor_corrects_a_proposal_with_another_candidate():
    catalogue_seed()
    name = WeaponSystemFactory(name="Leopard 2A4 (Canada)", catalogued=False)
    alias_proposals_propose()
    proposal = SystemAliasProposal.objects.get(system=name)
    target = WeaponSystem.objects.get(name="Leopard 2A4")
    alias_proposal_confirm(proposal=proposal, candidate=target, relation="alias")
    proposal.refresh_from_db()
    assert (proposal.candidate, proposal.relation, proposal.status) == (
        target,
        "alias",
        "confirmed",
    )
    name.refresh_from_db()
    assert name.parent == target and name.catalogued
