"""Records post stock-ledger rows through the services, in their own transaction; edits
cancel and re-post, deletes cancel; rows are never edited in place."""

import ast
import datetime as dt
import pathlib

import pytest
from django.core.exceptions import ValidationError

from stock.models import LedgerEntry, StaleEstimate
from tests.factories import WeaponSystemFactory, state
from transfers import services
from transfers.models import Pledge, Transfer

pytestmark = pytest.mark.django_db

SOURCE = {"url": "https://news.example.org/storm-shadow", "title": "Storm Shadow report"}


def _rows(record, **filters):
    return LedgerEntry.objects.filter(
        origin_model=record._meta.label_lower, origin_id=record.pk, **filters
    ).order_by("id")


def test_a_transfer_posts_a_row_out_of_the_donor_and_one_into_the_recipient():
    system = WeaponSystemFactory(name="Storm Shadow")
    transfer = services.transfer_create(
        donor=state("GB"),
        recipient=state("UA"),
        system=system,
        quantity_text="dozens more",
        date=dt.date(2024, 11, 20),
        date_precision="month",
        citations=[{"source": SOURCE, "excerpt": "dozens more", "credibility": 2}],
    )
    rows = list(_rows(transfer))
    assert [(r.holder.code, r.kind) for r in rows] == [("GB", "sent"), ("UA", "received")]
    assert {(r.quantity_low, r.quantity_high, r.quantity_text) for r in rows} == {
        (24, 99, "dozens more")
    }
    assert {r.date for r in rows} == {dt.date(2024, 11, 1)}
    assert {r.grade for r in rows} == {"F2"}  # the source's default reliability is F
    assert set(StaleEstimate.objects.values_list("holder_id", "system_id")) == {
        (state("GB").pk, system.pk),
        (state("UA").pk, system.pk),
    }


def test_an_unknown_quantity_is_posted_as_at_least_one():
    expenditure = services.expenditure_create(
        holder=state("UA"), system=WeaponSystemFactory(), kind="launched", quantity_text="unknown"
    )
    row = _rows(expenditure).get()
    assert (row.quantity_low, row.quantity_high) == (1, None)


def test_editing_a_record_cancels_its_rows_and_posts_new_ones():
    transfer = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=WeaponSystemFactory(), quantity_text="4"
    )
    first = list(_rows(transfer).values_list("pk", flat=True))
    services.record_update(record=transfer, quantity_text="about 10")
    assert list(_rows(transfer, is_cancelled=True).values_list("pk", flat=True)) == first
    live = _rows(transfer, is_cancelled=False)
    assert {(r.quantity_low, r.quantity_high) for r in live} == {(9, 11)}


def test_saving_a_record_unchanged_leaves_the_ledger_as_it_was():
    transfer = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=WeaponSystemFactory(), quantity_text="4"
    )
    before = list(LedgerEntry.objects.values_list("pk", "is_cancelled"))
    services.record_save(record=Transfer.objects.get(pk=transfer.pk))
    assert list(LedgerEntry.objects.values_list("pk", "is_cancelled")) == before


def test_deleting_a_record_cancels_its_rows_and_keeps_them():
    transfer = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=WeaponSystemFactory(), quantity_text="4"
    )
    pk = transfer.pk
    services.record_delete(record=transfer)
    rows = LedgerEntry.objects.filter(origin_model="transfers.transfer", origin_id=pk)
    assert rows.count() == 2
    assert all(row.is_cancelled and row.cancelled_at for row in rows)


def test_a_citation_regrades_the_record_rows():
    transfer = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=WeaponSystemFactory(), quantity_text="4"
    )
    assert set(_rows(transfer, is_cancelled=False).values_list("grade", flat=True)) == {""}
    citation = services.citation_create(
        record=transfer, source={**SOURCE, "reliability": "B"}, credibility=3
    )
    assert set(_rows(transfer, is_cancelled=False).values_list("grade", flat=True)) == {"B3"}
    services.citation_update(citation=citation, credibility=2)
    assert set(_rows(transfer, is_cancelled=False).values_list("grade", flat=True)) == {"B2"}
    services.citation_delete(citation=citation)
    assert set(_rows(transfer, is_cancelled=False).values_list("grade", flat=True)) == {""}


def test_a_pledge_posts_what_is_not_yet_delivered():
    system = WeaponSystemFactory()
    pledge = services.pledge_create(
        donor=state("US"), recipient=state("UA"), system=system, quantity_text="20"
    )
    assert {(r.holder.code, r.kind, r.quantity_low) for r in _rows(pledge)} == {
        ("US", "pledged_out", 20),
        ("UA", "pledged_in", 20),
    }
    delivery = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=system, quantity_text="8", pledge=pledge
    )
    live = _rows(pledge, is_cancelled=False)
    assert {(r.kind, r.quantity_low, r.quantity_high) for r in live} == {
        ("pledged_out", 12, 12),
        ("pledged_in", 12, 12),
    }
    assert Pledge.objects.get(pk=pledge.pk).status == "partially_delivered"
    services.record_delete(record=delivery)
    live = _rows(pledge, is_cancelled=False)
    assert {(r.kind, r.quantity_low) for r in live} == {("pledged_out", 20), ("pledged_in", 20)}
    services.pledge_mark_delivered(pledge=Pledge.objects.get(pk=pledge.pk))
    assert not _rows(pledge, is_cancelled=False).exists()


def test_an_undisclosed_donor_or_a_pledge_under_discussion_posts_no_outgoing_row():
    system = WeaponSystemFactory()
    undisclosed = services.pledge_create(
        donor=None, recipient=state("UA"), system=system, quantity_text="10"
    )
    assert [r.kind for r in _rows(undisclosed)] == ["pledged_in"]
    discussed = services.pledge_create(
        donor=None,
        recipient=state("UA"),
        system=system,
        quantity_text="unknown",
        status="under_discussion",
    )
    assert not _rows(discussed).exists()


def test_a_refused_record_posts_nothing():
    with pytest.raises(ValidationError):
        services.transfer_create(
            donor=state("UA"), recipient=state("UA"), system=WeaponSystemFactory(), quantity_low=3
        )
    assert not LedgerEntry.objects.exists()
    assert not StaleEstimate.objects.exists()


def test_inventory_never_imports_transfers():
    root = pathlib.Path(__file__).resolve().parents[2] / "inventory"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "transfers"]
    assert offenders == []
