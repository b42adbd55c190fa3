"""Stockpile's own exports (transfers/exporters.py), read back: "stockpile" (the JSON
document) and "stockpile-csv" (one row per record).

Records keep their external id; records without one (entered by hand) are matched by
content: a record whose fields and citations are all the same is the same record, so a
second import of an export changes nothing. Parties are matched by code (the document
creates the non-state parties it names), systems by name (the document creates the
missing ones with their details, aliases and family).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

import ijson
from django.utils.dateparse import parse_date, parse_datetime
from ijson.common import ObjectBuilder

from core.choices import DatePrecision
from core.spreadsheets import formula_restore
from inventory.models import Country
from inventory.services import country_create
from transfers.exporters import (
    CITATION_EXPORT_FIELDS,
    EXTRA_FIELDS,
    FORMAT,
    RECORD_TYPES,
    SOURCE_EXPORT_FIELDS,
    SYSTEM_FIELDS,
    VERSION,
)
from transfers.importers.base import Importer
from transfers.importers.drafts import (
    CitationDraft,
    FileRefused,
    RecordDraft,
    RowRefused,
    SourceDraft,
    SystemRef,
)
from transfers.importers.parsing import check_url, read_csv
from transfers.importers.report import ImportReport
from transfers.models import Transfer
from transfers.records import BY_NAME
from transfers.selectors import RECORD_PARTIES


def _date(value: Any, column: str) -> dt.date | None:
    if value in (None, ""):
        return None
    parsed = parse_date(str(value)[:10])
    if parsed is None:
        raise RowRefused(column, value, "is not a date (YYYY-MM-DD)")
    return parsed


def _datetime(value: Any, column: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise RowRefused(column, value, "is not a date and time (ISO 8601)")
    return parsed


def _int(value: Any, column: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise RowRefused(column, value, "is not a whole number") from None
    if number < 0:
        raise RowRefused(column, value, "is negative: not a possible number of units")
    return number


def _source(spec: dict[str, Any]) -> SourceDraft:
    values = {name: spec.get(name) or "" for name in SOURCE_EXPORT_FIELDS}
    values["published_at"] = _datetime(spec.get("published_at"), "citations.source.published_at")
    values["published_on"] = _date(spec.get("published_on"), "citations.source.published_on")
    values["published_precision"] = spec.get("published_precision") or DatePrecision.DAY
    if values["published_precision"] not in (
        DatePrecision.DAY,
        DatePrecision.MONTH,
        DatePrecision.YEAR,
    ):
        raise RowRefused(
            "citations.source.published_precision",
            values["published_precision"],
            "is not one of day, month, year",
        )
    values["retrieved_at"] = _datetime(spec.get("retrieved_at"), "citations.source.retrieved_at")
    for field in ("url", "archive_url"):
        if values[field]:
            values[field] = check_url(str(values[field]), f"citations.source.{field}")
    if not values["title"]:
        raise RowRefused("citations.source.title", "", "is empty")
    return SourceDraft(**values)


def _bool(value: Any, column: str) -> bool:
    """A yes/no cell: true/false, yes/no, 1/0 (JSON booleans as they are); empty: yes."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in ("", "true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise RowRefused(column, value, "is not true or false")


def record_draft(row: dict[str, Any], line: int) -> RecordDraft:
    record_type = str(row.get("record_type") or "")
    model = RECORD_TYPES.get(record_type)
    if model is None:
        raise RowRefused("record_type", record_type, f"is not one of {', '.join(RECORD_TYPES)}")
    values: dict[str, Any] = {
        "date": _date(row.get("date"), "date"),
        "date_precision": row.get("date_precision") or "unknown",
        "date_end": _date(row.get("date_end"), "date_end"),
        "notes": row.get("notes") or "",
    }
    if BY_NAME[record_type].has_quantity:
        values["quantity_low"] = _int(row.get("quantity_low"), "quantity_low")
        values["quantity_high"] = _int(row.get("quantity_high"), "quantity_high")
        values["quantity_text"] = row.get("quantity_text") or ""
    for name in EXTRA_FIELDS[model]:
        value = row.get(name)
        if name == "valid_until":
            values[name] = _date(value, name)
        elif name == "include_variants":
            values[name] = _bool(value, name)
        else:
            values[name] = value or ""
    if model is Transfer:
        values["pledge_id"] = None
    citations = row.get("citations") or []
    if isinstance(citations, str):
        try:
            citations = json.loads(citations) if citations.strip() else []
        except json.JSONDecodeError as exc:
            raise RowRefused("citations", citations[:40], f"is not JSON ({exc.msg})") from exc
    drafts = []
    for spec in citations:
        fields = {name: spec.get(name, "") for name in CITATION_EXPORT_FIELDS}
        fields["credibility"] = _int(spec.get("credibility"), "citations.credibility") or 6
        fields["reliability"] = fields["reliability"] or ""
        drafts.append(CitationDraft(source=_source(spec.get("source") or {}), **fields))
    parties = {}
    for party in RECORD_PARTIES[model]:
        code = str(row.get(party) or "").strip()
        parties[party] = (party, code) if code else None
    system = str(row.get("system") or "").strip()
    return RecordDraft(
        model=model,
        external_id=str(row.get("external_id") or ""),
        line=line,
        values=values,
        parties=parties,
        system=SystemRef(name=system, column="system"),
        citations=drafts,
        pledge_key=str(row.get("pledge") or "") if model is Transfer else "",
        key=str(row.get("key") or ""),
    )


def _refused(exc: Exception) -> FileRefused:
    return FileRefused(f"the file is not JSON or is truncated ({exc})")


_HEAD_SCALARS = {"format", "version", "exported_at"}


def _head(stream: BinaryIO) -> Any:
    """The document without its records: format, version, parties, systems. Reads up to
    the records when the parties and systems come before them (as our exports write
    them), else the whole file; leaves the stream at its start."""
    head: dict[str, Any] = {}
    try:
        events = ijson.parse(stream, use_float=True)
        first = next(events, None)
        if first is None or first[1] != "start_map":
            return None
        for prefix, event, value in events:
            if prefix in _HEAD_SCALARS and event not in ("start_map", "start_array"):
                head[prefix] = value
            elif prefix in ("parties", "systems") and event == "start_array":
                head[prefix] = list(_array_items(events, prefix))
            elif (
                prefix == "records"
                and event == "start_map"
                and head.keys()
                >= {
                    "parties",
                    "systems",
                }
            ):
                break
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise _refused(exc) from exc
    stream.seek(0)
    return head


def _array_items(events, prefix: str) -> Iterator[Any]:
    """The items of the array that has just started at `prefix` (its start event read),
    built one at a time, up to its end."""
    builder = None
    depth = 0
    for event_prefix, event, value in events:
        if builder is None:
            if event == "end_array" and event_prefix == prefix:
                return
            builder = ObjectBuilder()
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            yield builder.value
            builder = None


def _records(stream: BinaryIO) -> Iterator[tuple[str, Any]]:
    """(record type, row) for every row under "records", one at a time."""
    try:
        events = ijson.parse(stream, use_float=True)
        for prefix, event, value in events:
            if prefix == "records" and event == "map_key":
                _prefix, start, _value = next(events)
                if start != "start_array":
                    raise FileRefused(f'"records"."{value}" is not a list')
                for row in _array_items(events, f"records.{value}"):
                    yield value, row
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise _refused(exc) from exc


class NativeJsonImporter(Importer):
    name = "stockpile"
    label = "Stockpile JSON export"
    description = "Stockpile's own JSON export (manage.py export --format json)"

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        yield from self.read(io.BytesIO(text.encode("utf-8")), report)

    def read(self, stream: BinaryIO, report: ImportReport) -> Iterator[RecordDraft]:
        """Drafts the records as the file is read (ijson): memory stays flat whatever the
        size of the file. The parties and systems come first in our exports; a document
        that lists its records before them is read twice (once for them)."""
        self.document = head = _head(stream)
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise FileRefused(f'this is not a {self.label} (no "format": "{FORMAT}")')
        if head.get("version") != VERSION:
            raise FileRefused(f"version {head.get('version')!r} of the format is not known")
        self._setup_done = False
        for line, (record_type, row) in enumerate(_records(stream), start=1):
            report.rows += 1
            try:
                if record_type not in RECORD_TYPES or not isinstance(row, dict):
                    raise RowRefused(
                        "record_type", record_type, f"is not one of {', '.join(RECORD_TYPES)}"
                    )
                yield record_draft({"record_type": record_type, **row}, line)
            except RowRefused as exc:
                report.refuse(line, exc.field, exc.value, exc.message)

    def extra_setup(self, parties, systems, actor) -> None:
        if getattr(self, "_setup_done", False):
            return  # once per import, before the first chunk of records
        self._setup_done = True
        for party in self.document.get("parties", []):
            code = party.get("code", "")
            if code and parties.find(code) is None:
                created = country_create(
                    code=code,
                    name=party.get("name") or code,
                    kind=party.get("kind") or "unknown",
                    official_name=party.get("official_name") or "",
                    aliases=[a for a in party.get("aliases", []) if parties.find(a) is None],
                    actor=actor,
                )
                parties.by_key[f"code:{code.upper()}"] = created.pk
        parents = {}
        for spec in self.document.get("systems", []):
            name = spec.get("name", "")
            if not name or systems.find(name) is not None:
                continue
            details = {n: spec.get(n) or "" for n in SYSTEM_FIELDS}
            try:
                details["range_km"] = Decimal(details["range_km"]) if details["range_km"] else None
            except InvalidOperation:
                details["range_km"] = None
            details["counting_unit"] = details["counting_unit"] or "system"
            # the systems a native file describes are the exporting catalogue's entries
            details["catalogued"] = bool(spec.get("catalogued", True))
            origin = spec.get("origin") or ""
            details["origin"] = origin
            systems.pending[systems.key(name)] = SystemRef(
                name=name,
                column="system",
                details=details,
                aliases=[(a, k) for a, k in spec.get("aliases", [])],
            )
            if spec.get("parent"):
                parents[name] = spec["parent"]
        systems.create_pending(parties, actor)
        systems.link_parents(parents, actor)


class NativeCsvImporter(Importer):
    name = "stockpile-csv"
    label = "Stockpile CSV export"
    description = "Stockpile's own CSV export (manage.py export --format csv)"

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        rows = read_csv(text)
        if not rows or "record_type" not in rows[0][1] or "citations" not in rows[0][1]:
            raise FileRefused(f"the header is not that of a {self.label}", line=1)
        header = rows[0][1]
        if rows and len(rows[-1][1]) not in (0, len(header)) and not text.endswith("\n"):
            raise FileRefused("the file is truncated", line=rows[-1][0])
        self.party_names: dict[str, str] = {}
        for line, cells in rows[1:]:
            if not cells:
                continue
            report.rows += 1
            if len(cells) != len(header):
                report.refuse(line, "row", "", f"has {len(cells)} fields, the header {len(header)}")
                continue
            # Our exports make formula-like text inert with an apostrophe: undo it.
            row = dict(zip(header, map(formula_restore, cells), strict=True))
            for party in ("holder", "supplier", "donor", "recipient", "grantor"):
                if row.get(party):
                    self.party_names.setdefault(row[party], row.get(f"{party}_name") or row[party])
            try:
                yield record_draft(row, line)
            except RowRefused as exc:
                report.refuse(line, exc.field, exc.value, exc.message)

    def extra_setup(self, parties, systems, actor) -> None:
        # A CSV names parties by code; a code the database lacks is a party of our own
        # (3+ letters) that the export's database had: create it, kind unknown.
        for code, name in self.party_names.items():
            if parties.find(code) is None and len(code) >= 3:
                if Country.objects.filter(name__iexact=name).exists():
                    continue
                created = country_create(code=code, name=name, kind="unknown", actor=actor)
                parties.by_key[f"code:{code.upper()}"] = created.pk
