"""Export of the sourced records, with their citations and sources, to JSON, CSV and XLSX.

The JSON document (format "stockpile", version 1) holds everything needed to rebuild the
records in an empty database: the non-state parties and the weapon systems they refer to
(with aliases and families), and every record with its citations and their sources. CSV
and XLSX hold one row per record (a `record_type` column; citations as JSON in one cell,
each with its source); a text cell that a spreadsheet would run as a formula (`= + - @`)
starts with an apostrophe. `manage.py import stockpile` and `stockpile-csv` read them back
(see transfers/importers/native.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from inventory.choices import PartyKind
from inventory.models import Country, WeaponSystem
from inventory.spreadsheets import formula_safe
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Transfer
from transfers.selectors import RECORD_PARTIES
from transfers.services import SOURCE_FIELDS

FORMAT, VERSION = "stockpile", 1
RECORD_TYPES: dict[str, type[models.Model]] = {
    "holding": Holding,
    "pledge": Pledge,
    "transfer": Transfer,
    "expenditure": Expenditure,
    "authorization": Authorization,
}
EXTRA_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Holding: ("kind",),
    Pledge: ("status",),
    Transfer: ("basis", "condition"),
    Expenditure: ("kind", "location"),
    Authorization: ("kind", "scope", "valid_until"),
}
QUANTITY = ("quantity_low", "quantity_high", "quantity_text")
SOURCE_EXPORT_FIELDS = SOURCE_FIELDS  # the fields of a source a caller may set
CITATION_EXPORT_FIELDS = (
    "excerpt",
    "locator",
    "stance",
    "attribution",
    "reliability",
    "credibility",
)
SYSTEM_FIELDS = (
    "unroca_category",
    "sipri_category",
    "description",
    "manufacturer",
    "range_km",
    "counting_unit",
    "notes",
)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record_key(record: models.Model) -> str:
    """How other rows of an export refer to a record: its external id, else its id."""
    return record.external_id or f"id:{record._meta.model_name}:{record.pk}"


def _citation(citation: Citation) -> dict[str, Any]:
    row = {name: _plain(getattr(citation, name)) for name in CITATION_EXPORT_FIELDS}
    row["source"] = {name: _plain(getattr(citation.source, name)) for name in SOURCE_EXPORT_FIELDS}
    return row


def record_row(record: models.Model) -> dict[str, Any]:
    model = type(record)
    row: dict[str, Any] = {
        "record_type": model._meta.model_name,
        "id": record.pk,
        "key": record_key(record),
        "external_id": record.external_id,
    }
    for party in RECORD_PARTIES[model]:
        country = getattr(record, party)
        row[party] = country.code if country else ""
        row[f"{party}_name"] = country.name if country else ""
    row["system"] = record.system.name
    if model is not Authorization:
        for name in QUANTITY:
            row[name] = getattr(record, name)
    row["date"] = _plain(record.date)
    row["date_precision"] = record.date_precision
    for name in EXTRA_FIELDS[model]:
        row[name] = _plain(getattr(record, name))
    if model is Transfer:
        row["pledge"] = record_key(record.pledge) if record.pledge_id else ""
    row["notes"] = record.notes
    row["citations"] = [_citation(c) for c in record.citations.all()]
    return row


def export_queryset(model: type[models.Model], queryset=None):
    queryset = model.objects.all() if queryset is None else queryset
    related = [*RECORD_PARTIES[model], "system"]
    if model is Transfer:
        related.append("pledge")
    return queryset.select_related(*related).prefetch_related("citations__source").order_by("pk")


def export_rows(querysets: dict[type[models.Model], Any] | None = None) -> list[dict[str, Any]]:
    querysets = querysets or {model: None for model in RECORD_TYPES.values()}
    rows = []
    for model in RECORD_TYPES.values():
        if model in querysets:
            rows.extend(
                record_row(r) for r in export_queryset(model, querysets[model]).iterator(500)
            )
    return rows


def _party(country: Country) -> dict[str, Any]:
    return {
        "code": country.code,
        "name": country.name,
        "kind": country.kind,
        "official_name": country.official_name,
        "aliases": sorted(country.aliases.values_list("alias", flat=True)),
    }


def _system(system: WeaponSystem) -> dict[str, Any]:
    row = {"name": system.name, "parent": system.parent.name if system.parent_id else ""}
    row.update({name: _plain(getattr(system, name)) for name in SYSTEM_FIELDS})
    row["origin"] = system.origin.code if system.origin_id else ""
    row["aliases"] = sorted([a.alias, a.kind] for a in system.aliases.all())
    return row


def export_document(querysets: dict[type[models.Model], Any] | None = None) -> dict[str, Any]:
    rows = export_rows(querysets)
    system_names = {row["system"] for row in rows}
    systems = {s.pk: s for s in WeaponSystem.objects.filter(name__in=system_names)}
    frontier = {s.parent_id for s in systems.values() if s.parent_id}
    while frontier - set(systems):
        for s in WeaponSystem.objects.filter(pk__in=frontier - set(systems)):
            systems[s.pk] = s
        frontier = {s.parent_id for s in systems.values() if s.parent_id}
    codes = {
        row[p]
        for row in rows
        for p in ("holder", "supplier", "donor", "recipient", "grantor")
        if row.get(p)
    }
    codes |= {s.origin.code for s in systems.values() if s.origin_id}
    parties = Country.objects.filter(code__in=codes).exclude(kind=PartyKind.STATE).order_by("code")
    ordered = sorted(
        WeaponSystem.objects.filter(pk__in=systems)
        .select_related("parent", "origin")
        .prefetch_related("aliases"),
        key=lambda s: s.name.lower(),
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "parties": [_party(p) for p in parties.prefetch_related("aliases")],
        "systems": [_system(s) for s in ordered],
        "records": {name: [r for r in rows if r["record_type"] == name] for name in RECORD_TYPES},
    }


def export_json(querysets=None) -> bytes:
    return json.dumps(export_document(querysets), ensure_ascii=False, indent=1).encode("utf-8")


def csv_columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        for name in row:
            if name not in columns:
                columns.append(name)
    return columns


def _cell(value: Any) -> Any:
    """A CSV or XLSX cell: lists as JSON, text that a spreadsheet would run as a formula
    made inert (inventory.spreadsheets; the stockpile-csv import undoes it)."""
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    return "" if value is None else formula_safe(value)


def export_csv(querysets=None) -> bytes:
    rows = export_rows(querysets)
    buffer = io.StringIO(newline="")
    columns = csv_columns(rows) or ["record_type"]
    # RFC 4180 line ends: with "\n" alone, a bare "\r" in a cell would go out unquoted.
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(row.get(name)) for name in columns})
    return buffer.getvalue().encode("utf-8")


def export_xlsx(querysets=None) -> bytes:
    """One sheet per record type, the same columns as the CSV."""
    from openpyxl import Workbook

    rows = export_rows(querysets)
    book = Workbook()
    book.remove(book.active)
    for name in RECORD_TYPES:
        mine = [r for r in rows if r["record_type"] == name]
        if not mine and querysets is not None:
            continue
        sheet = book.create_sheet(name)
        columns = csv_columns(mine) or ["record_type"]
        sheet.append(columns)
        for row in mine:
            sheet.append([_cell(row.get(c)) for c in columns])
    if not book.sheetnames:
        book.create_sheet("records")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


EXPORTERS = {
    "json": (export_json, "application/json", "json"),
    "csv": (export_csv, "text/csv", "csv"),
    "xlsx": (
        export_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
}
