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

from core.spreadsheets import formula_safe
from inventory.choices import PartyKind
from inventory.models import Country, WeaponSystem
from transfers.models import Citation, Transfer
from transfers.records import BY_MODEL
from transfers.records import RECORD_TYPES as RECORD_REGISTRY
from transfers.selectors import RECORD_PARTIES
from transfers.services import SOURCE_FIELDS

FORMAT, VERSION = "stockpile", 1
RECORD_TYPES: dict[str, type[models.Model]] = {t.name: t.model for t in RECORD_REGISTRY}
EXTRA_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    t.model: t.fields for t in RECORD_REGISTRY
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
    if BY_MODEL[model].has_quantity:
        for name in QUANTITY:
            row[name] = getattr(record, name)
    row["date"] = _plain(record.date)
    row["date_precision"] = record.date_precision
    row["date_end"] = _plain(record.date_end)
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
    buffer = io.BytesIO()
    write_json(buffer, querysets)
    return buffer.getvalue()


def csv_columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        for name in row:
            if name not in columns:
                columns.append(name)
    return columns


def _cell(value: Any) -> Any:
    """A CSV or XLSX cell: lists as JSON, text that a spreadsheet would run as a formula
    made inert (core.spreadsheets; the stockpile-csv import undoes it)."""
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    return "" if value is None else formula_safe(value)


# -- streaming: memory flat in the number of records ---------------------------------------
#
# The writers below produce exactly what the in-memory versions did (`export_document`
# dumped with indent=1; `csv_columns` over every row), a chunk of records at a time: the
# records are read with `iterator()` (citations prefetched per chunk), and only the sets of
# system names and party codes the records use are held, to write the parties and systems
# that come before them in the JSON document.

CHUNK = 500
PARTY_COLUMNS = ("holder", "supplier", "donor", "recipient", "grantor")


def _querysets(querysets) -> dict[type[models.Model], Any]:
    querysets = querysets or {model: None for model in RECORD_TYPES.values()}
    return {
        model: export_queryset(model, querysets[model])
        for model in RECORD_TYPES.values()
        if model in querysets
    }


def _stream_rows(model: type[models.Model], queryset) -> Iterable[dict[str, Any]]:
    for record in queryset.iterator(CHUNK):
        yield record_row(record)


def _used(selected: dict[type[models.Model], Any]) -> tuple[set[str], set[str]]:
    """The system names and party codes the selected records refer to (values only)."""
    names: set[str] = set()
    codes: set[str] = set()
    for model, queryset in selected.items():
        parties = [f"{party}__code" for party in RECORD_PARTIES[model]]
        rows = (
            queryset.select_related(None)
            .prefetch_related(None)
            .order_by()
            .values_list("system__name", *parties)
        )
        for name, *party_codes in rows.iterator(chunk_size=5000):
            names.add(name)
            codes.update(code for code in party_codes if code)
    return names, codes


def _json_value(value: Any, depth: int) -> str:
    """`value` as json.dumps(indent=1) writes it nested `depth` levels deep."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return text.replace("\n", "\n" + " " * depth)


def _write_json_list(out, items: Iterable[Any], depth: int) -> None:
    first = True
    for item in items:
        out.write(("[\n" if first else ",\n").encode())
        out.write((" " * (depth + 1) + _json_value(item, depth + 1)).encode("utf-8"))
        first = False
    out.write(("[]" if first else "\n" + " " * depth + "]").encode())


def write_json(out, querysets=None) -> None:
    """The JSON document of `export_document`, written to the binary stream `out`."""
    selected = _querysets(querysets)
    names, codes = _used(selected)
    systems = {s.pk: s for s in WeaponSystem.objects.filter(name__in=names)}
    frontier = {s.parent_id for s in systems.values() if s.parent_id}
    while frontier - set(systems):
        for s in WeaponSystem.objects.filter(pk__in=frontier - set(systems)):
            systems[s.pk] = s
        frontier = {s.parent_id for s in systems.values() if s.parent_id}
    codes |= {s.origin.code for s in systems.values() if s.origin_id}
    parties = Country.objects.filter(code__in=codes).exclude(kind=PartyKind.STATE).order_by("code")
    ordered = sorted(
        WeaponSystem.objects.filter(pk__in=systems)
        .select_related("parent", "origin")
        .prefetch_related("aliases"),
        key=lambda s: s.name.lower(),
    )
    head = {"format": FORMAT, "version": VERSION, "exported_at": timezone.now().isoformat()}
    out.write(b"{\n")
    for key, value in head.items():
        out.write(f" {json.dumps(key)}: {_json_value(value, 1)},\n".encode())
    out.write(b' "parties": ')
    _write_json_list(out, (_party(p) for p in parties.prefetch_related("aliases")), 1)
    out.write(b',\n "systems": ')
    _write_json_list(out, (_system(s) for s in ordered), 1)
    out.write(b',\n "records": {')
    for index, (name, model) in enumerate(RECORD_TYPES.items()):
        out.write(("\n" if index == 0 else ",\n").encode())
        out.write(f"  {json.dumps(name)}: ".encode())
        rows = _stream_rows(model, selected[model]) if model in selected else ()
        _write_json_list(out, rows, 2)
    out.write(b"\n }\n}")


def _columns(selected: dict[type[models.Model], Any]) -> dict[type[models.Model], list[str]]:
    """Each model's columns, read from its first record (every record of a model has the
    same keys): what `csv_columns` finds over all the rows, known before the first row."""
    keys: dict[type[models.Model], list[str]] = {}
    for model, queryset in selected.items():
        first = queryset.first()
        if first is not None:
            keys[model] = list(record_row(first))
    return keys


def write_csv(out, querysets=None) -> None:
    """The CSV of `export_csv`, written to the binary stream `out` a row at a time."""
    selected = _querysets(querysets)
    columns = csv_columns(_columns(selected).values()) or ["record_type"]
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        for model, queryset in selected.items():
            for row in _stream_rows(model, queryset):
                writer.writerow({name: _cell(row.get(name)) for name in columns})
        text.flush()
    finally:
        text.detach()


def export_csv(querysets=None) -> bytes:
    buffer = io.BytesIO()
    write_csv(buffer, querysets)
    return buffer.getvalue()


def write_xlsx(out, querysets=None) -> None:
    """The workbook of `export_xlsx` (one sheet per record type, the CSV's columns), written
    with openpyxl's write-only mode: rows go to a temporary file, not to memory."""
    from openpyxl import Workbook

    selected = _querysets(querysets)
    keys = _columns(selected)
    book = Workbook(write_only=True)
    for name, model in RECORD_TYPES.items():
        if model not in keys and querysets is not None:
            continue
        sheet = book.create_sheet(name)
        columns = keys.get(model) or ["record_type"]
        sheet.append(columns)
        if model in keys:
            for row in _stream_rows(model, selected[model]):
                sheet.append([_cell(row.get(c)) for c in columns])
    if not book.sheetnames:
        book.create_sheet("records")
    book.save(out)


def export_xlsx(querysets=None) -> bytes:
    """One sheet per record type, the same columns as the CSV."""
    buffer = io.BytesIO()
    write_xlsx(buffer, querysets)
    return buffer.getvalue()


WRITERS = {"json": write_json, "csv": write_csv, "xlsx": write_xlsx}


EXPORTERS = {
    "json": (export_json, "application/json", "json"),
    "csv": (export_csv, "text/csv", "csv"),
    "xlsx": (
        export_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
}
