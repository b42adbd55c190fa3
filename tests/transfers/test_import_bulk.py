"""The bulk write path (COPY on PostgreSQL, plain rows elsewhere) writes what the
single-record services write: the same ledger rows as a full rebuild, one history row per
record and citation with the door and the actor, and a number of queries that does not
grow with the file."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.services import tracked_bulk_create
from inventory.models import WeaponSystem
from stock.ledger import ledger_rebuild
from stock.models import LedgerEntry, StaleEstimate
from tests.factories import UserFactory
from transfers.importers import import_file
from transfers.importers.synthetic import GENERATORS
from transfers.models import Citation, Holding, Transfer

from . import import_fixtures as fx

pytestmark = pytest.mark.django_db

LEDGER_FIELDS = (
    "holder_id",
    "system_id",
    "kind",
    "quantity_low",
    "quantity_high",
    "quantity_text",
    "date",
    "date_precision",
    "via_contract",
    "origin_model",
    "origin_id",
    "origin_label",
    "grade",
)


def ledger_rows():
    return sorted(
        LedgerEntry.objects.filter(is_cancelled=False).values_list(*LEDGER_FIELDS), key=repr
    )


@pytest.mark.parametrize(
    "fmt,data",
    [
        ("sipri", fx.sipri_2026()),
        ("sipri-classic", fx.sipri_classic()),
        ("oryx-supplied", fx.oryx_supplied()),
        ("oryx-losses", fx.oryx_losses()),
        ("kiel", fx.kiel()),
        ("sipri", GENERATORS["sipri"](300)),
    ],
)
def test_the_imported_ledger_is_what_a_full_rebuild_posts(fmt, data):
    report = import_file(fmt, data)
    assert report.written and LedgerEntry.objects.exists()
    posted = ledger_rows()
    StaleEstimate.objects.all().delete()
    result = ledger_rebuild()
    assert result["stale_pairs"] == 0  # the rebuild found every row as it would post it
    assert ledger_rows() == posted
    assert not LedgerEntry.objects.filter(is_cancelled=True).exists()


def test_every_record_and_citation_has_one_history_row_with_door_actor_and_values():
    analyst = UserFactory(username="bulk-analyst")
    report = import_file("sipri", GENERATORS["sipri"](200), actor=analyst)
    assert report.written
    for model in (Transfer, Holding, Citation):
        objects = {obj.pk: obj for obj in model.objects.all()}
        rows = list(model.history.all())
        assert objects and len(rows) == len(objects)
        for row in rows:
            assert (row.history_type, row.door, row.actor_name) == ("+", "import", "bulk-analyst")
            assert row.history_user_id == analyst.pk
            assert row.history_change_reason is None
            stored = objects[row.id]
            for field in model._meta.concrete_fields:
                assert getattr(row, field.attname) == getattr(stored, field.attname), field.name


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="elsewhere rows are inserted in batches (SQLite's limit on parameters)",
)
def test_the_number_of_queries_does_not_grow_with_the_file():
    def queries(rows: int) -> int:
        # the same parties and systems in both files (the generator cycles through them),
        # so only the number of records differs
        with CaptureQueriesContext(connection) as captured:
            report = import_file("sipri", GENERATORS["sipri"](rows), dry_run=True)
        assert report.ok
        return len(captured.captured_queries)

    small, large = queries(400), queries(1600)
    assert large <= small


def test_tracked_bulk_create_writes_every_field_type_and_returns_the_ids():
    created = tracked_bulk_create(
        WeaponSystem,
        [
            WeaponSystem(name="Bulk gun", range_km=Decimal("12.5"), notes="tab\there\nline\\"),
            WeaponSystem(name="Bulk rocket", range_km=None),
        ],
    )
    assert all(system.pk for system in created)
    stored = WeaponSystem.objects.get(pk=created[0].pk)
    assert (stored.range_km, stored.notes) == (Decimal("12.5"), "tab\there\nline\\")
    assert WeaponSystem.history.filter(id__in=[s.pk for s in created]).count() == 2
    # the next ordinary insert does not collide with the ids the bulk insert took
    assert WeaponSystem.objects.create(name="After").pk > max(s.pk for s in created)
