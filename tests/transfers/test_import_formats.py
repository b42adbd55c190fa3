"""Each importer on small files in its format, covering the quirks of ../shared/data/README.md."""

from __future__ import annotations

import pytest

from core.choices import DatePrecision
from inventory.choices import AliasKind, PartyKind
from inventory.models import Country, WeaponSystem, WeaponSystemAlias
from inventory.selectors import country_resolve
from transfers.choices import Condition, ExpenditureKind, HoldingKind, PledgeStatus, TransferBasis
from transfers.importers import import_file
from transfers.models import Citation, Expenditure, Holding, Pledge, Source, Transfer

from . import import_fixtures as fx

pytestmark = pytest.mark.django_db


def ok(fmt, data, **kwargs):
    report = import_file(fmt, data, filename=f"fixture.{fmt}", **kwargs)
    assert report.ok and report.written, report.summary()
    return report


def test_sipri_2026_deals_become_orders_and_yearly_deliveries():
    report = ok("sipri", fx.sipri_2026())
    assert report.rows == 6
    assert report.created["holding"] == 5  # deals with a known party pair
    assert report.created["transfer"] == 6
    bushmaster = Transfer.objects.filter(external_id__startswith="sipri:65361:").order_by("date")
    assert [(t.date.year, t.date_precision) for t in bushmaster] == [(2022, "year"), (2023, "year")]
    exact, estimate = bushmaster
    assert (exact.quantity_low, exact.quantity_high) == (70, 70)
    assert (estimate.quantity_low, estimate.quantity_high, estimate.quantity_text) == (
        45,
        55,
        "50?",
    )
    assert exact.donor.code == "AU" and exact.recipient.code == "UA"
    assert exact.basis == TransferBasis.CONTRACT and exact.condition == Condition.SECOND_HAND
    order = Holding.objects.get(external_id="sipri:65361:order")
    assert order.kind == HoldingKind.CONTRACTED and order.holder.code == "UA"
    assert order.supplier.code == "AU" and order.date.year == 2022
    assert (order.quantity_low, order.quantity_high) == (115, None)  # at least what was delivered


def test_sipri_parties_stars_organizations_and_unknown():
    ok("sipri", fx.sipri_2026())
    assert Transfer.objects.get(external_id="sipri:57867:2016").recipient.code == "NATO"
    ltte = Transfer.objects.get(external_id="sipri:36437:2002")
    assert ltte.donor.code == "XXU" and ltte.recipient.kind == PartyKind.NON_STATE
    assert ltte.recipient.name == "LTTE (Sri Lanka)"
    assert country_resolve("LTTE (Sri Lanka)*") == ltte.recipient
    assert Transfer.objects.get(external_id="sipri:56021:2013").recipient.code == "XXU"


def test_sipri_systems_are_created_once_with_the_dataset_spelling_and_category():
    WeaponSystem.objects.create(name="Bushmaster PMV")
    system = WeaponSystem.objects.get(name="Bushmaster PMV")
    WeaponSystemAlias.objects.create(
        system=system, alias="Bushmaster", alias_normalized="bushmaster"
    )
    ok("sipri", fx.sipri_2026())
    assert Transfer.objects.get(external_id="sipri:65361:2022").system == system
    rbs = WeaponSystem.objects.get(name="RBS-70-3")
    assert rbs.sipri_category == "missiles" and rbs.description == "portable SAM"
    assert rbs.aliases.get().kind == AliasKind.DATASET_SPELLING
    assert WeaponSystem.objects.filter(name__iexact="bushmaster").count() == 0


def test_sipri_cites_one_source_per_release_with_the_row():
    ok("sipri", fx.sipri_2026())
    source = Source.objects.get()
    assert "Feb 2026" in source.title and source.source_type == "dataset"
    assert source.reliability == "B"
    citation = Transfer.objects.get(external_id="sipri:67673:2024").citations.get()
    assert citation.attribution == "dataset" and citation.excerpt.startswith("67673,Australia")
    assert citation.locator == "SIPRI AT Database ID 67673, delivery year 2024"
    assert citation.credibility == 3  # "is estimate"


def test_sipri_classic_latin1_flags_multiyear_and_split_comment():
    report = ok("sipri-classic", fx.sipri_classic())
    assert report.rows == 6  # the split record is one row
    assert report.created["holding"] == 6
    angola = Transfer.objects.get(recipient__code="AO")
    assert angola.date.year == 2021 and "2019; 2020; 2021" in angola.notes
    assert (angola.quantity_low, angola.quantity_high) == (26, 32)  # "29?"
    order = Holding.objects.get(holder__code="AO")
    assert (order.quantity_low, order.quantity_high, order.date_precision) == (
        26,
        32,
        DatePrecision.YEAR,
    )
    assert Holding.objects.get(holder__code="AF").quantity_low == 6
    assert Holding.objects.get(holder__code="AFU").supplier.code == "XXU"
    zapu = Holding.objects.get(holder__name="ZAPU (Zimbabwe)")
    assert zapu.supplier.code == "SUN" and "Côte d'Ivoire" in zapu.notes
    ivory = Holding.objects.get(holder__code="CI")
    assert "South Africa" in ivory.notes
    assert not Transfer.objects.filter(recipient__code="CI").exists()  # 0 delivered
    assert not Transfer.objects.filter(recipient__code="UA").exists()


def test_oryx_supplied_pledges_transfers_unknown_counts_and_proof_sources():
    report = ok("oryx-supplied", fx.oryx_supplied())
    assert report.duplicates == 1
    assert report.created["transfer"] == 6 and report.created["pledge"] == 1
    pledge = Pledge.objects.get(external_id="oryx-supplied:10")
    assert pledge.donor.code == "CZ" and pledge.status == PledgeStatus.ANNOUNCED
    unknown = Transfer.objects.get(external_id="oryx-supplied:64")
    assert unknown.donor.code == "XXU"
    assert (unknown.quantity_low, unknown.quantity_high) == (None, None)
    assert Transfer.objects.get(external_id="oryx-supplied:0").donor.code == "NATO"
    belarus = Transfer.objects.get(external_id="oryx-supplied:345")
    assert belarus.donor.code == "BY" and belarus.recipient.code == "RU"  # not Belgium
    shared = Source.objects.get(url_canonical="https://i.postimg.cc/shared/1.png")
    assert shared.citations.count() == 2 and shared.source_type == "imagery"
    himars = WeaponSystem.objects.get(name="M142 HIMARS")
    assert himars.sipri_category == "" and himars.unroca_category == ""  # not "towed artillery"


def test_oryx_losses_strip_the_tally_cite_the_photo_and_are_dated_on_or_before():
    report = ok("oryx-losses", fx.oryx_losses())
    assert report.created["expenditure"] == 4
    m777 = Expenditure.objects.filter(system__name="155mm M777A2 howitzer")
    assert m777.count() == 2
    loss = m777.first()
    assert loss.kind == ExpenditureKind.DESTROYED and loss.holder.code == "UA"
    assert (loss.quantity_low, loss.quantity_high) == (1, 1)
    # the day Oryx recorded the loss bounds it: the loss happened on or before it
    assert loss.date_precision == "on_or_before" and loss.date.isoformat().startswith("2022-10-")
    assert loss.date_interval == (None, loss.date)
    assert "tally" in loss.notes and "2022-10-" in loss.notes
    assert not WeaponSystem.objects.filter(name__startswith="10 ").exists()
    tweet = Source.objects.get(
        url_canonical="https://twitter.com/UAWeapons/status/1677957933441642497"
    )
    assert tweet.citations.count() == 2 and tweet.source_type == "social_media"


def test_kiel_unpacks_weapon_lists():
    report = ok("kiel", fx.kiel())
    assert report.created["transfer"] == 6
    t72 = Transfer.objects.get(system__name="Modified T-72 tank (T-72A/T-72M1/M1R)")
    assert t72.quantity_low == 62 and t72.donor.code == "CZ" and t72.recipient.code == "UA"
    assert WeaponSystem.objects.filter(name="M270 weapon system (Norway)").exists()
    d30 = Transfer.objects.filter(donor__code="EE", system__name__iexact="D-30 howitzer")
    assert sorted(t.quantity_low for t in d30) == [9, 24]
    assert WeaponSystem.objects.filter(name__iexact="d-30 howitzer").count() == 1
    assert Citation.objects.filter(transfer__donor__code="EE").count() == 3
    assert Country.objects.filter(kind=PartyKind.NON_STATE, name__icontains="czech").count() == 0
