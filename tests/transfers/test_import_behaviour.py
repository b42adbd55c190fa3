"""Idempotence, newer releases, refusals, skipping bad rows, dry runs, the command, the admin."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from inventory.models import WeaponSystem
from stock.models import LedgerEntry, StaleEstimate
from transfers.importers import import_file
from transfers.models import Citation, Holding, Source, Transfer

from . import import_fixtures as fx

pytestmark = pytest.mark.django_db

RECORDS = (Holding, Transfer)


def snapshot():
    return {
        "transfers": sorted(
            Transfer.objects.values_list(
                "external_id", "quantity_low", "quantity_high", "updated_at"
            )
        ),
        "holdings": sorted(
            Holding.objects.values_list("external_id", "quantity_low", "updated_at")
        ),
        "citations": Citation.objects.count(),
        "sources": Source.objects.count(),
        "systems": WeaponSystem.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "history": Transfer.history.count() + Holding.history.count() + Citation.history.count(),
    }


def nothing_written():
    return (
        not Transfer.objects.exists()
        and not Holding.objects.exists()
        and not Source.objects.exists()
    )


@pytest.mark.parametrize(
    "fmt,data",
    [
        ("sipri", fx.sipri_2026()),
        ("sipri-classic", fx.sipri_classic()),
        ("oryx-supplied", fx.oryx_supplied()),
        ("oryx-losses", fx.oryx_losses()),
        ("kiel", fx.kiel()),
    ],
)
def test_the_same_file_twice_changes_nothing(fmt, data):
    first = import_file(fmt, data)
    assert first.written
    before = snapshot()
    second = import_file(fmt, data)
    assert second.totals()["created"] == second.totals()["updated"] == 0
    assert second.totals()["unchanged"] == first.totals()["created"]
    assert snapshot() == before


def test_history_shows_one_import():
    import_file("sipri", fx.sipri_2026())
    import_file("sipri", fx.sipri_2026())
    rows = Transfer.history.filter(external_id="sipri:67673:2024")
    assert [(h.history_type, h.door) for h in rows] == [("+", "import")]


def test_a_newer_release_updates_what_changed_with_history_and_ledger():
    import_file("sipri", fx.sipri_2026())
    rows = list(fx.ROWS_2026)
    rows[0] = rows[0].replace(",100,Yes,2024,", ",120,No,2024,")
    report = import_file("sipri", fx.sipri_2026(rows, generated="12 Mar 2026 09:00:00 AM"))
    assert report.written
    assert report.updated["transfer"] == 1 and report.updated["holding"] == 1
    assert report.unchanged["transfer"] == 5
    changed = Transfer.objects.get(external_id="sipri:67673:2024")
    assert (changed.quantity_low, changed.quantity_high) == (120, 120)
    history = list(
        changed.history.order_by("history_date").values_list("history_type", "quantity_low", "door")
    )
    assert history == [("+", 90, "import"), ("~", 120, "import")]
    citation = changed.citations.get()
    assert "Mar 2026" in citation.source.title and ",120,No," in citation.excerpt
    unchanged = Transfer.objects.get(external_id="sipri:57867:2016").citations.get()
    assert "Feb 2026" in unchanged.source.title  # the older release still says exactly this
    ledger = LedgerEntry.objects.filter(origin_model="transfers.transfer", origin_id=changed.pk)
    assert sorted(ledger.filter(is_cancelled=False).values_list("quantity_low", flat=True)) == [
        120,
        120,
    ]
    assert StaleEstimate.objects.exists()


@pytest.mark.parametrize(
    "fmt,data,expected",
    [
        (
            "sipri",
            fx.sipri_2026().replace(b"Australia", "Österreich".encode("latin-1")),
            "not utf-8",
        ),
        (
            "sipri-classic",
            fx.sipri_classic().decode("latin-1").encode("utf-8"),
            "UTF-8, not Latin-1",
        ),
        ("sipri", fx.sipri_2026()[:-40], "truncated"),
        ("sipri-classic", fx.sipri_classic()[:-12], "truncated"),
        ("oryx-supplied", fx.oryx_supplied()[:-30], "truncated"),
        ("kiel", fx.kiel()[:-25], "truncated"),
        ("sipri", fx.sipri_2026().replace(b"Numbers delivered,", b"Number delivered,"), "header"),
        ("oryx-losses", fx.oryx_supplied(), "header"),
        ("kiel", fx.oryx_losses(), "header"),
        ("sipri-classic", fx.sipri_2026(), "header"),
        ("sipri", fx.oryx_supplied(), "Transfers of major conventional arms"),
        ("stockpile", b'{"format": "stockpile", "version": 1, "records": {', "truncated"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused(fmt, data, expected):
    report = import_file(fmt, data, filename="bad")
    assert not report.ok and report.file_error
    assert expected.lower() in report.file_error.lower(), report.file_error
    assert "Nothing was written" in report.summary()
    assert nothing_written()


def test_an_impossible_number_is_named_by_line_and_field_and_nothing_is_written():
    rows = list(fx.ROWS_2026)
    rows[1] = rows[1].replace(",70,No,", ",-70,No,")
    rows[3] = rows[3].replace(",2016,", ",2916,")
    report = import_file("sipri", fx.sipri_2026(rows))
    assert not report.ok and not report.written
    found = {(e.line, e.field) for e in report.errors}
    assert found == {(14, "Numbers delivered"), (16, "Delivery year")}
    assert "line 14, Numbers delivered '-70'" in report.summary()
    assert nothing_written()


def test_skip_bad_rows_imports_the_others():
    rows = list(fx.ROWS_2026)
    rows[0] = rows[0].replace(",100,Yes,", ",lots,Yes,")
    report = import_file("sipri", fx.sipri_2026(rows), skip_bad_rows=True)
    assert report.ok and report.written and report.totals()["refused"] == 1
    assert not Transfer.objects.filter(external_id__startswith="sipri:67673:").exists()
    assert Transfer.objects.count() == 5


def test_kiel_counts_that_do_not_add_up_are_refused():
    rows = ['"Estonia","Howitzers",50,1,"D-30 howitzer (24); FH70 155mm howitzer (24)"']
    report = import_file("kiel", fx.kiel(rows))
    assert [(e.line, e.field) for e in report.errors] == [(2, "number_of_weapons")]


def test_dry_run_reports_exactly_and_writes_nothing():
    report = import_file("sipri", fx.sipri_2026(), dry_run=True)
    assert report.ok and not report.written and report.created["transfer"] == 6
    assert nothing_written() and not WeaponSystem.objects.exists()


def test_the_command_prints_the_summary_and_fails_on_refusal(tmp_path):
    good = tmp_path / "register.csv"
    good.write_bytes(fx.sipri_2026())
    out = io.StringIO()
    call_command("import", "sipri", str(good), "--dry-run", stdout=out)
    assert "created 11, updated 0, unchanged 0, refused 0" in out.getvalue()
    assert "Dry run" in out.getvalue()
    call_command("import", "sipri", str(good), stdout=io.StringIO())
    assert Transfer.objects.count() == 6
    bad = tmp_path / "bad.csv"
    bad.write_bytes(fx.kiel())
    with pytest.raises(CommandError):
        call_command("import", "sipri", str(bad), stdout=io.StringIO())


def test_admin_import_previews_then_confirms(editor_client, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    url = reverse("admin:transfers_import")
    assert editor_client.get(url).status_code == 200
    upload = io.BytesIO(fx.kiel())
    upload.name = "kiel.csv"
    response = editor_client.post(url, {"format": "kiel", "file": upload, "preview": "1"})
    assert response.status_code == 200
    assert b"Preview" in response.content and b"created 6" in response.content
    assert not Transfer.objects.exists()
    token = response.context["token"]
    response = editor_client.post(url, {"token": token, "confirm": "1"})
    assert response.status_code == 200 and response.context["report"].written
    assert Transfer.objects.count() == 6
    history = Transfer.history.first()
    assert history.door == "import" and history.actor_name == "editor"
    # the token is spent: confirming again imports nothing
    response = editor_client.post(url, {"token": token, "confirm": "1"})
    assert response.status_code == 302 and Transfer.objects.count() == 6


def test_admin_import_preview_shows_row_errors_and_offers_no_confirm(
    editor_client, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    upload = io.BytesIO(fx.kiel(['"Estonia","Howitzers",5,1,"D-30 howitzer (2)"']))
    upload.name = "kiel.csv"
    response = editor_client.post(
        reverse("admin:transfers_import"), {"format": "kiel", "file": upload, "preview": "1"}
    )
    assert b"line 2, number_of_weapons" in response.content
    assert b"Confirm import" not in response.content


def test_viewers_cannot_import(viewer_client):
    assert viewer_client.get(reverse("admin:transfers_import")).status_code == 403
