"""Imports resolve through the catalogue: one weapon's many dataset names land on one entry
or family, both spellings of a party on one party whatever the order, a re-import changes
nothing, the names with no entry are listed and proposed, and editors' confirmations move
the records. Small files in each format, with lines taken from the public samples."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.catalogue import alias_proposal_confirm, catalogue_seed
from inventory.models import (
    Country,
    CountryAlias,
    SystemAliasProposal,
    WeaponSystem,
    WeaponSystemAlias,
)
from stock.models import LedgerEntry
from tests.factories import UserFactory
from transfers.importers import import_file
from transfers.importers.resolve import party_code
from transfers.models import Expenditure, Holding, Pledge, Transfer

from . import import_fixtures as fx

pytestmark = pytest.mark.django_db

SIPRI_ROWS = [  # SIPRI 2026 sample lines 18, 49, 2083, 2084 and 2252
    "65442,Australia,Ukraine,UFH 155mm,towed gun,Artillery,2022,No,6,No,2022,No,Second hand,1,0.4,2.4,No",
    "65412,Canada,Ukraine,UFH 155mm,towed gun,Artillery,2022,No,4,No,2022,No,Second hand,1,0.4,1.6,No",
    "66482,United States,Ukraine,UFH 155mm,towed gun,Artillery,2023,No,25,No,2023,No,Second hand,1,0.4,10,No",
    "66482,United States,Ukraine,UFH 155mm,towed gun,Artillery,2023,No,16,Yes,2024,,Second hand,1,0.4,6.4,No",
    "63386,unknown supplier(s),HoR (Libya)*,Titan,armoured personnel carrier,Armoured vehicles,2019,Yes,5,Yes,2019,Yes,New,0.13,0.13,0.65,No",
    "65000,Poland,Ukraine,Leopard-2A4,tank,Armoured vehicles,2022,No,14,No,2023,No,Second hand,2.5,1,14,No",
]
CLASSIC_ROWS = [  # SIPRI classic sample lines 161 and 1909
    "Libya HoR*,Jordan,2018,?,5,?,Al-Wahsh,APC,5,,2018,New,Possibly delivered via other state,0.2,1,1",
    "Ukraine,Australia,2022,,6,,UFH/M-777 155mm,towed gun,6,,2022,Second hand,Second-hand; aid,0.4,2.4,2.4",
]
ORYX_SUPPLIED_ROWS = [  # Oryx supplied lines 128, 129 and 35
    "126,155mm M777,Towed Artillery,United States,USA,Ukraine,UA,180,True,False,https://i.postimg.cc/RF9wv2RQ/653.jpg,2005.0",
    "127,155mm M777,Towed Artillery,Australia,AUS,Ukraine,UA,6,True,False,https://i.postimg.cc/x1G5C9rX/79.png,2005.0",
    "33,Leopard 2A4,Tanks,Poland,PL,Ukraine,UA,14,True,False,https://i.postimg.cc/CMDHQWVS/image.jpg,1985.0",
]
ORYX_LOSSES_ROWS = fx.ORYX_LOSSES_ROWS[:3]  # two "10 155mm M777A2 howitzer", one AHS Krab
KIEL_ROWS = [
    '"Australia","Howitzers",6,28672479,"M777 howitzer (6)"',
    '"Poland","Tanks",14,1,"Leopard-2A4 (14)"',
]


def files():
    return [
        ("sipri", fx.sipri_2026(SIPRI_ROWS)),
        ("sipri-classic", fx.sipri_classic(CLASSIC_ROWS)),
        ("oryx-supplied", fx.oryx_supplied(ORYX_SUPPLIED_ROWS)),
        ("oryx-losses", fx.oryx_losses(ORYX_LOSSES_ROWS)),
        ("kiel", fx.kiel(KIEL_ROWS)),
    ]


def import_all(order=None):
    reports = []
    for fmt, data in order or files():
        report = import_file(fmt, data)
        assert report.ok, report.summary()
        reports.append(report)
    return reports


def family_of(system: WeaponSystem) -> str:
    return system.family.name


def resolution() -> dict[str, tuple[str, str]]:
    """Each record's key -> (its system, the system's family)."""
    found = {}
    for model in (Holding, Pledge, Transfer, Expenditure):
        for record in model.objects.select_related("system__parent__parent"):
            found[record.external_id] = (record.system.name, family_of(record.system))
    return found


@pytest.fixture
def seeded(db):
    catalogue_seed()


def test_m777_deliveries_and_losses_land_on_one_catalogue_family(seeded):
    import_all()
    m777 = WeaponSystem.objects.get(name="M777")
    deliveries = Transfer.objects.filter(recipient__code="UA", system__name="M777")
    assert {t.external_id.split(":")[0] for t in deliveries} == {
        "sipri",
        "sipri-classic",
        "oryx-supplied",
        "kiel",
    }
    losses = Expenditure.objects.filter(holder__code="UA", notes__contains="tally")
    assert losses.count() == 2
    for loss in losses:
        assert loss.system.name == "M777A2"
        assert loss.system.family == m777
    # the Krab and the Leopards meet too
    assert Expenditure.objects.filter(system__name="Krab").count() == 1
    assert {t.system.name for t in Transfer.objects.filter(donor__code="PL")} == {"Leopard 2A4"}
    # none of these names was left unresolved
    assert not WeaponSystem.objects.filter(catalogued=False).exclude(name__in=["Titan", "Al-Wahsh"])


def test_the_order_of_imports_does_not_change_what_names_resolve_to(seeded):
    results = []
    for order in (files(), list(reversed(files()))):
        with transaction.atomic():
            import_all(order)
            results.append(
                (
                    resolution(),
                    sorted(Country.objects.values_list("code", "name")),
                    Country.objects.count(),
                )
            )
            transaction.set_rollback(True)
    assert results[0] == results[1]


@pytest.mark.parametrize("classic_first", [False, True])
def test_both_spellings_of_a_party_resolve_to_one_party_whatever_the_order(seeded, classic_first):
    order = files()[:2]
    import_all(list(reversed(order)) if classic_first else order)
    hor = Country.objects.get(code="HOR")
    assert Holding.objects.filter(holder=hor).count() == 2  # one deal in each export
    assert not Country.objects.filter(name__icontains="HoR").exclude(pk=hor.pk).exists()


@pytest.mark.parametrize("reverse", [False, True])
def test_a_party_no_seed_knows_gets_one_deterministic_code_for_both_spellings(db, reverse):
    new = [
        "63387,unknown supplier(s),Front Uni (Chad)*,Titan,armoured personnel carrier,Armoured vehicles,2019,Yes,5,Yes,2019,Yes,New,0.13,0.13,0.65,No"
    ]
    old = ["Chad Front Uni*,Jordan,2018,?,5,?,Al-Wahsh,APC,5,,2018,New,Possibly delivered,0.2,1,1"]
    order = [("sipri", fx.sipri_2026(new)), ("sipri-classic", fx.sipri_classic(old))]
    import_all(list(reversed(order)) if reverse else order)
    party = Country.objects.get(code=party_code("Front Uni (Chad)"))
    assert party.code == party_code("Chad Front Uni")
    assert party.name == ("Chad Front Uni" if reverse else "Front Uni (Chad)")  # the first met
    assert CountryAlias.objects.get(alias_normalized="chad front uni").country == party
    assert CountryAlias.objects.get(alias_normalized="front uni chad").country == party
    assert Holding.objects.filter(holder=party).count() == 2


def catalogue_snapshot():
    return {
        "systems": sorted(WeaponSystem.objects.values_list("name", "parent_id", "catalogued")),
        "aliases": WeaponSystemAlias.objects.count(),
        "proposals": SystemAliasProposal.objects.count(),
        "parties": Country.objects.count(),
        "party aliases": CountryAlias.objects.count(),
        "resolution": resolution(),
        "history": WeaponSystem.history.count()
        + WeaponSystemAlias.history.count()
        + Transfer.history.count()
        + Expenditure.history.count(),
        "ledger": LedgerEntry.objects.count(),
    }


def test_a_reimport_changes_nothing(seeded):
    import_all()
    before = catalogue_snapshot()
    for report in import_all():
        assert report.totals()["created"] == report.totals()["updated"] == 0
        assert report.systems_created == report.proposals_created == 0
    assert catalogue_snapshot() == before


def test_a_name_equal_to_an_entrys_designation_resolves_to_it_and_becomes_its_alias(seeded):
    report = import_all([("kiel", fx.kiel(['"Poland","Tanks",14,1,"Leopard 2A4 MBT (14)"']))])[0]
    assert report.systems_created == 0
    transfer = Transfer.objects.get()
    assert transfer.system.name == "Leopard 2A4"
    alias = WeaponSystemAlias.objects.get(alias="Leopard 2A4 MBT")
    assert (alias.system, alias.kind) == (transfer.system, "dataset_spelling")


def test_a_name_with_no_entry_is_created_listed_and_proposed(seeded):
    rows = [
        "Ukraine,United States,155mm M777A3 howitzer,destroyed,https://example.org/1.jpg,2024-01-01,1,1,1,m-1",
        "Ukraine,United States,155mm M777A3 howitzer,destroyed,https://example.org/2.jpg,2024-01-01,1,2,1,m-2",
        "Ukraine,United States,Zeppelin NT,destroyed,https://example.org/3.jpg,2024-01-01,1,3,1,m-3",
    ]
    report = import_all([("oryx-losses", fx.oryx_losses(rows))])[0]
    assert (report.names_unresolved, report.proposals_created) == (2, 1)
    assert "2 name(s) with no catalogue entry (1 candidate(s) proposed)" in report.summary()
    name = WeaponSystem.objects.get(name="155mm M777A3 howitzer")
    assert not name.catalogued
    proposal = SystemAliasProposal.objects.get(system=name)
    assert (proposal.candidate.name, proposal.relation, proposal.method, proposal.dataset) == (
        "M777",
        "variant",
        "family",
        "oryx-losses",
    )
    out = io.StringIO()
    call_command("catalogue", "unresolved", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "2 dataset name(s) with no catalogue entry"
    assert lines[2].split() == ["2", "1", "155mm", "M777A3", "howitzer"]  # most records first
    assert lines[3].split() == ["1", "0", "Zeppelin", "NT"]

    alias_proposal_confirm(proposal=proposal, actor=UserFactory())
    name.refresh_from_db()
    assert name.catalogued and name.family.name == "M777"
    out = io.StringIO()
    call_command("catalogue", "unresolved", stdout=out)
    assert out.getvalue().startswith("1 dataset name(s) with no catalogue entry")


def test_confirming_a_name_as_an_alias_moves_its_records_and_a_reimport_changes_nothing(seeded):
    data = fx.oryx_supplied(
        [
            "200,155mm M-777 towed,Towed Artillery,Canada,CAN,Ukraine,UA,4,True,False,https://example.org/p.jpg,2005.0"
        ]
    )
    import_all([("oryx-supplied", data)])
    name = WeaponSystem.objects.get(name="155mm M-777 towed")
    transfer = Transfer.objects.get()
    assert transfer.system == name
    proposal = SystemAliasProposal.objects.get(system=name)
    m777 = WeaponSystem.objects.get(name="M777")
    editor = UserFactory(username="ed")
    # the editor corrects "a variant" into "another name of the M777"
    alias_proposal_confirm(proposal=proposal, actor=editor, relation="alias")
    transfer.refresh_from_db()
    assert transfer.system == m777
    assert transfer.history.first().history_user == editor
    live = LedgerEntry.objects.filter(origin_model="transfers.transfer", is_cancelled=False)
    assert set(live.values_list("system_id", flat=True)) == {m777.pk}
    assert WeaponSystemAlias.objects.get(alias="155mm M-777 towed").system == m777
    name.refresh_from_db()
    assert name.parent == m777 and name.catalogued

    before = catalogue_snapshot()
    report = import_all([("oryx-supplied", data)])[0]
    assert report.totals()["created"] == report.totals()["updated"] == 0
    assert catalogue_snapshot() == before


def test_the_number_of_queries_does_not_grow_with_the_unresolved_names(seeded):
    """Resolution, proposals and aliases are set-based: no read per name. (On SQLite the
    inserts go in batches, the parameter limit, so there only the reads are compared.)"""

    def queries(count: int) -> tuple[int, int]:
        rows = [
            f"{i},Gadget {i}X{i},Other,Canada,CAN,Ukraine,UA,4,True,False,https://example.org/{i % 3}.jpg,"
            for i in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            report = import_file("oryx-supplied", fx.oryx_supplied(rows), dry_run=True)
        assert report.ok and report.names_unresolved == count
        sql = [q["sql"].lstrip().upper() for q in captured.captured_queries]
        return len(sql), sum(q.startswith("SELECT") for q in sql)

    (small, small_reads), (large, large_reads) = queries(20), queries(400)
    assert large_reads == small_reads
    if connection.vendor == "postgresql":
        assert large == small


def test_the_unresolved_list_and_the_proposals_in_the_admin(
    seeded, client, django_assert_max_num_queries
):
    rows = [
        f"{i},Gadget {i},Other,Canada,CAN,Ukraine,UA,4,True,False,https://example.org/{i}.jpg,"
        for i in range(30)
    ]
    import_all(
        [
            ("oryx-supplied", fx.oryx_supplied(rows)),
            (
                "oryx-losses",
                fx.oryx_losses(
                    [
                        "Ukraine,United States,155mm M777A3 howitzer,destroyed,https://example.org/x.jpg,2024-01-01,1,1,1,m-1"
                    ]
                ),
            ),
        ]
    )
    client.force_login(UserFactory(username="vi", role="viewer"))
    url = reverse("admin:inventory_unresolvedsystemname_changelist")
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    assert b"Gadget 0" in response.content and b"1 pending" in response.content
    proposal = SystemAliasProposal.objects.get()
    change = reverse("admin:inventory_systemaliasproposal_change", args=[proposal.pk])
    # a viewer sees the proposal and cannot decide it
    assert client.get(change).status_code == 200
    assert client.post(change, {"decision": "confirm"}).status_code == 403
    editor = UserFactory(username="ed", role="editor")
    client.force_login(editor)
    proposals = reverse("admin:inventory_systemaliasproposal_changelist")
    filtered = client.get(
        proposals, {"system__id__exact": proposal.system_id, "status__exact": "pending"}
    )
    assert filtered.status_code == 200 and b"155mm M777A3 howitzer" in filtered.content
    response = client.post(
        change,
        {
            "candidate": proposal.candidate_id,
            "relation": "variant",
            "note": "the A3 upgrade",
            "decision": "confirm",
            # the version the form was opened on (core.admin_versions)
            "stockpile_version": client.get(change)
            .context["adminform"]
            .form["stockpile_version"]
            .value(),
        },
    )
    assert response.status_code == 302, response.content[:2000]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.note) == (
        "confirmed",
        editor,
        "the A3 upgrade",
    )
    assert proposal.history.filter(history_user=editor, door="admin").exists()
