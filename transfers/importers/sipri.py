"""SIPRI Arms Transfers Database trade registers: the 2026 export and the classic one.

2026 format ("sipri"): UTF-8, CRLF, 11 preamble lines, then a header; every line of the
table ends with ";"; one row per deal and delivery year, with "is estimate" columns.
Each deal becomes a contracted holding of the recipient (its order) and each row a transfer
(the delivery of that year).

Classic format ("sipri-classic"): Latin-1, LF, 11 preamble lines; three header cells are a
single space and hold the "?" flag of the column before them; one row per deal with the
number ordered, the number delivered and a ";"-separated list of delivery years; a comment
may contain an unquoted line break, which splits the record over two lines (13 + 4 fields).
Each deal becomes a contracted holding (number ordered) and, when anything was delivered,
one transfer of the number delivered dated at the last delivery year.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator

from core.quantities import QuantityRange
from inventory.choices import SipriCategory
from transfers.choices import Condition, HoldingKind, PartyRoleKind, SourceType, TransferBasis
from transfers.importers.base import Importer
from transfers.importers.drafts import (
    CitationDraft,
    FileRefused,
    RecordDraft,
    RoleDraft,
    RowRefused,
    SourceDraft,
    SystemRef,
)
from transfers.importers.parsing import (
    check_header,
    parse_count,
    parse_year,
    quantity_values,
    read_csv,
    short_hash,
    year_date,
)
from transfers.importers.report import ImportReport
from transfers.models import Holding, Transfer

SIPRI_URL = "https://www.sipri.org/databases/armstransfers"
FAMILY = "SIPRI Arms Transfers Database"
PREAMBLE_LINES = 11

CATEGORIES = {
    "aircraft": SipriCategory.AIRCRAFT,
    "air-defence systems": SipriCategory.AIR_DEFENCE,
    "air defence systems": SipriCategory.AIR_DEFENCE,
    "anti-submarine warfare": SipriCategory.ANTI_SUBMARINE,
    "armoured vehicles": SipriCategory.ARMOURED_VEHICLES,
    "artillery": SipriCategory.ARTILLERY,
    "engines": SipriCategory.ENGINES,
    "missiles": SipriCategory.MISSILES,
    "naval weapons": SipriCategory.NAVAL_WEAPONS,
    "satellites": SipriCategory.SATELLITES,
    "sensors": SipriCategory.SENSORS,
    "ships": SipriCategory.SHIPS,
    "other": SipriCategory.OTHER,
}
CONDITIONS = {
    "new": Condition.NEW,
    "second hand": Condition.SECOND_HAND,
    "second hand but modernized": Condition.SECOND_HAND,
}
YES_NO = {"yes": True, "no": False, "": False}

HEADER_2026 = [
    "SIPRI AT Database ID",
    "Supplier",
    "Recipient",
    "Designation",
    "Description",
    "Armament category",
    "Order date",
    "Order date is estimate",
    "Numbers delivered",
    "Numbers delivered is estimate",
    "Delivery year",
    "Delivery year is estimate",
    "Status",
    "SIPRI estimate",
    "TIV deal unit",
    "TIV delivery values",
    "Local production",
]
HEADER_CLASSIC = [
    "Recipient",
    "Supplier",
    "Year of order",
    " ",
    "Number ordered",
    " ",
    "Weapon designation",
    "Weapon description",
    "Number delivered",
    " ",
    "Year(s) of delivery",
    "status",
    "Comments",
    "SIPRI TIV per unit",
    "SIPRI TIV for total order",
    "SIPRI TIV of delivered weapons",
]
# The classic header's blank cells, named after the column whose "?" they hold.
CLASSIC_COLUMNS = [
    "Recipient",
    "Supplier",
    "Year of order",
    "Year of order ?",
    "Number ordered",
    "Number ordered ?",
    "Weapon designation",
    "Weapon description",
    "Number delivered",
    "Number delivered ?",
    "Year(s) of delivery",
    "status",
    "Comments",
    "SIPRI TIV per unit",
    "SIPRI TIV for total order",
    "SIPRI TIV of delivered weapons",
]

_GENERATED = re.compile(r"Data generated:\s*(\d{1,2} \w{3} \d{4})")


def _preamble(lines: list[str], label: str) -> str:
    """Check the preamble and return the release date it states ("12 Feb 2026")."""
    if not lines[0].startswith("Transfers of major conventional arms"):
        raise FileRefused(
            f"this is not a {label}: its first line should start "
            "'Transfers of major conventional arms'",
            line=1,
        )
    if len(lines) <= PREAMBLE_LINES:
        raise FileRefused(
            f"the file is truncated: a {label} has {PREAMBLE_LINES} preamble lines and a header"
        )
    generated = next(
        (m.group(1) for line in lines[:PREAMBLE_LINES] if (m := _GENERATED.search(line))), ""
    )
    if not generated:
        raise FileRefused(
            f"the preamble of a {label} states when the data was generated; this one does not"
        )
    return generated


def _category(value: str) -> str:
    return CATEGORIES.get(value.strip().lower(), SipriCategory.OTHER if value.strip() else "")


def _flag(value: str, column: str) -> bool:
    key = value.strip().lower()
    if key not in YES_NO:
        raise RowRefused(column, value, "is not Yes, No or empty")
    return YES_NO[key]


def _release_source(importer: Importer, generated: str, kind: str) -> SourceDraft:
    try:
        published = dt.datetime.strptime(generated, "%d %b %Y").replace(tzinfo=dt.UTC)
    except ValueError:
        published = None
    month = published.strftime("%b %Y") if published else generated
    return SourceDraft(
        title=f"{FAMILY}, trade register ({kind}, export {month}, generated {generated})",
        publisher="Stockholm International Peace Research Institute (SIPRI)",
        published_at=published,
        source_type=SourceType.DATASET,
        reliability="B",
        content_sha256="",
        notes=f"SIPRI Arms Transfers Database (c) SIPRI. {SIPRI_URL}",
    )


class Sipri2026Importer(Importer):
    name = "sipri"
    label = "SIPRI trade register (2026 format)"
    encoding = "utf-8"
    description = "SIPRI trade register, 2026 export (UTF-8, ';' line ends, 'is estimate' columns)"

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        lines = text.replace("\r\n", "\n").split("\n")
        generated = _preamble(lines, self.label)
        source = _release_source(self, generated, "2026 format")
        header_line = PREAMBLE_LINES + 1
        body = lines[PREAMBLE_LINES:]
        while body and body[-1] == "":
            body.pop()
        if not body:
            raise FileRefused("the file is truncated: no header", line=header_line)
        for offset, line in enumerate(body):
            if not line.endswith(";"):
                if offset == len(body) - 1 and not text.endswith(("\n", "\r")):
                    raise FileRefused(
                        "the file is truncated: its last line does not end with ';'",
                        line=header_line + offset,
                    )
                raise FileRefused(
                    f"every line of a {self.label} ends with ';', this one does not",
                    line=header_line + offset,
                )
        rows = read_csv("\n".join(line[:-1] for line in body), start_line=header_line)
        check_header(rows[0][1], HEADER_2026, line=header_line, label=self.label)
        deals: dict[str, list[tuple[int, dict[str, str], str]]] = defaultdict(list)
        for line, cells in rows[1:]:
            report.rows += 1
            if len(cells) != len(HEADER_2026):
                report.refuse(
                    line, "row", "", f"has {len(cells)} fields, the header {len(HEADER_2026)}"
                )
                continue
            row = dict(zip(HEADER_2026, cells, strict=True))
            deal = row["SIPRI AT Database ID"].strip()
            if not re.fullmatch(r"\d+", deal):
                report.refuse(line, "SIPRI AT Database ID", deal, "is not a SIPRI deal number")
                continue
            deals[deal].append((line, row, ",".join(cells)))
        for deal, entries in deals.items():
            yield from self._deal(deal, entries, source, report)

    def _deal(self, deal, entries, source, report) -> Iterator[RecordDraft]:
        first_line, first, _ = entries[0]
        system = SystemRef(
            name=first["Designation"].strip(),
            column="Designation",
            description=first["Description"].strip(),
            sipri_category=_category(first["Armament category"]),
        )
        parties_dealt = (first["Supplier"].strip(), first["Recipient"].strip())
        deliveries: list[RecordDraft] = []
        low, high, lines = 0, 0, []
        order_year, order_estimate = None, False
        for line, row, raw in entries:
            try:
                if (row["Supplier"].strip(), row["Recipient"].strip()) != parties_dealt:
                    raise RowRefused(
                        "Supplier",
                        row["Supplier"],
                        f"differs from line {first_line} of deal {deal}",
                    )
                order_year = parse_year(row["Order date"], "Order date")
                order_estimate = _flag(row["Order date is estimate"], "Order date is estimate")
                estimate = _flag(
                    row["Numbers delivered is estimate"], "Numbers delivered is estimate"
                )
                quantity = parse_count(
                    row["Numbers delivered"], "Numbers delivered", estimate=estimate
                )
                year = parse_year(row["Delivery year"], "Delivery year")
                year_estimate = _flag(row["Delivery year is estimate"], "Delivery year is estimate")
                local = _flag(row["Local production"], "Local production")
                condition = CONDITIONS.get(row["Status"].strip().lower())
                if condition is None:
                    raise RowRefused(
                        "Status",
                        row["Status"],
                        "is not New, Second hand or Second hand but modernized",
                    )
                if year is None:
                    raise RowRefused(
                        "Delivery year", "", "is empty: a row of this register is a delivery"
                    )
            except RowRefused as exc:
                report.refuse(line, exc.field, exc.value, exc.message)
                continue
            lines.append(line)
            if quantity.low is not None:
                low += quantity.low
                high = None if high is None or quantity.high is None else high + quantity.high
            notes = [f"SIPRI deal {deal}: {row['Description'].strip()}."]
            if year_estimate:
                notes.append("Delivery year is a SIPRI estimate.")
            if local:
                notes.append("Local production.")
            if row["Status"].strip().lower() == "second hand but modernized":
                notes.append("Second hand but modernized.")
            date, precision = year_date(year)
            deliveries.append(
                RecordDraft(
                    model=Transfer,
                    external_id=f"sipri:{deal}:{year}",
                    line=line,
                    values={
                        **quantity_values(quantity),
                        "date": date,
                        "date_precision": precision,
                        "basis": TransferBasis.CONTRACT,
                        "condition": condition,
                        "pledge_id": None,
                        "notes": " ".join(notes),
                    },
                    parties={
                        "donor": ("Supplier", row["Supplier"]),
                        "recipient": ("Recipient", row["Recipient"]),
                    },
                    system=system,
                    citations=[
                        CitationDraft(
                            source=source,
                            excerpt=raw,
                            locator=f"SIPRI AT Database ID {deal}, delivery year {year}",
                            credibility=3 if estimate or year_estimate else 2,
                            family=FAMILY,
                        )
                    ],
                )
            )
        if not lines:
            return
        # The order: this format gives no number ordered; what it lists as delivered is a
        # lower bound of it.
        ordered = QuantityRange(low, None, f"at least {low} (delivered per the register)")
        date, precision = year_date(order_year)
        yield RecordDraft(
            model=Holding,
            external_id=f"sipri:{deal}:order",
            line=lines[0],
            lines=tuple(lines),
            values={
                **quantity_values(ordered),
                "date": date,
                "date_precision": precision,
                "kind": HoldingKind.CONTRACTED,
                "notes": f"SIPRI deal {deal}: order of {first['Description'].strip()}"
                + (" (order year is a SIPRI estimate)." if order_estimate else "."),
            },
            parties={
                "holder": ("Recipient", first["Recipient"]),
                "supplier": ("Supplier", first["Supplier"]),
            },
            system=system,
            citations=[
                CitationDraft(
                    source=source,
                    excerpt="\n".join(raw for _, _, raw in entries),
                    locator=f"SIPRI AT Database ID {deal}",
                    credibility=3 if order_estimate else 2,
                    family=FAMILY,
                )
            ],
        )
        yield from deliveries


class SipriClassicImporter(Importer):
    name = "sipri-classic"
    label = "SIPRI trade register (classic format)"
    encoding = "latin-1"
    description = (
        "SIPRI trade register, classic export (Latin-1, '?' flag columns, one row per deal)"
    )

    def decode(self, data: bytes) -> str:
        # Every byte is Latin-1, so a UTF-8 file would be read as mojibake: refuse it.
        if any(byte > 0x7F for byte in data):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                line = data[: next(i for i, b in enumerate(data) if b > 0x7F)].count(b"\n") + 1
                raise FileRefused(
                    f"the file is UTF-8, not Latin-1 as {self.label} files are "
                    "(re-export it, or import it with the 2026 format)",
                    line=line,
                )
        return super().decode(data)

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        lines = text.split("\n")
        generated = _preamble([line.rstrip("\r") for line in lines], self.label)
        source = _release_source(self, generated, "classic format")
        header_line = PREAMBLE_LINES + 1
        body = "\n".join(lines[PREAMBLE_LINES:])
        rows = read_csv(body, start_line=header_line)
        if not rows:
            raise FileRefused("the file is truncated: no header", line=header_line)
        check_header(rows[0][1], HEADER_CLASSIC, line=header_line, label=self.label)
        width = len(HEADER_CLASSIC)
        records: list[tuple[int, list[str], str]] = []
        data = [(line, cells) for line, cells in rows[1:] if cells != [] and cells != [""]]
        i = 0
        while i < len(data):
            line, cells = data[i]
            # A comment with an unquoted line break splits a record: 13 fields, then 4.
            if len(cells) == 13 and i + 1 < len(data) and len(data[i + 1][1]) == 4:
                rest = data[i + 1][1]
                cells = [*cells[:12], f"{cells[12]}\n{rest[0]}".strip(), *rest[1:]]
                i += 1
            elif len(cells) == 13 and i + 1 == len(data):
                raise FileRefused(
                    "the file is truncated: its last record has 13 of 16 fields", line=line
                )
            records.append((line, cells, ",".join(cells)))
            i += 1
        if records and len(records[-1][1]) != width and not text.endswith("\n"):
            raise FileRefused(
                f"the file is truncated: its last record has {len(records[-1][1])} of {width} "
                "fields and no line end",
                line=records[-1][0],
            )
        seen: dict[str, int] = defaultdict(int)
        for line, cells, raw in records:
            report.rows += 1
            if len(cells) != width:
                report.refuse(line, "row", "", f"has {len(cells)} fields, the header {width}")
                continue
            row = dict(zip(CLASSIC_COLUMNS, cells, strict=True))
            key_parts = (
                row["Recipient"],
                row["Supplier"],
                row["Year of order"],
                row["Weapon designation"],
            )
            base = short_hash(*(part.strip().lower() for part in key_parts))
            seen[base] += 1
            key = base if seen[base] == 1 else f"{base}-{seen[base]}"
            try:
                yield from self._deal(key, line, row, raw, source)
            except RowRefused as exc:
                report.refuse(line, exc.field, exc.value, exc.message)

    def _flag(self, row, column) -> bool:
        value = row[column].strip()
        if value not in ("", "?"):
            raise RowRefused(column, value, "holds neither '?' nor nothing")
        return value == "?"

    def _deal(self, key, line, row, raw, source) -> list[RecordDraft]:
        order_year = parse_year(row["Year of order"], "Year of order")
        order_flag = self._flag(row, "Year of order ?")
        ordered = parse_count(
            row["Number ordered"], "Number ordered", estimate=self._flag(row, "Number ordered ?")
        )
        delivered_flag = self._flag(row, "Number delivered ?")
        delivered = parse_count(
            row["Number delivered"], "Number delivered", estimate=delivered_flag
        )
        years_text = row["Year(s) of delivery"].strip()
        years = [
            parse_year(part, "Year(s) of delivery")
            for part in years_text.split(";")
            if part.strip()
        ]
        if (
            ordered.high is not None
            and delivered.low is not None
            and not self._flag(row, "Number ordered ?")
            and not delivered_flag
            and delivered.low > ordered.high
        ):
            raise RowRefused(
                "Number delivered",
                row["Number delivered"],
                f"is more than the {ordered.high} ordered",
            )
        condition = CONDITIONS.get(row["status"].strip().lower())
        if condition is None:
            raise RowRefused(
                "status", row["status"], "is not New, Second hand or Second hand but modernized"
            )
        if delivered.low and not years:
            raise RowRefused(
                "Year(s) of delivery", "", f"is empty but {delivered.low} were delivered"
            )
        comment = row["Comments"].strip()
        system = SystemRef(
            name=row["Weapon designation"].strip(),
            column="Weapon designation",
            description=row["Weapon description"].strip(),
        )
        parties = {"Recipient": row["Recipient"], "Supplier": row["Supplier"]}
        date, precision = year_date(order_year)
        citation = CitationDraft(
            source=source,
            excerpt=raw,
            locator=f"{row['Recipient'].strip()} from {row['Supplier'].strip()}, "
            f"{row['Weapon designation'].strip()}, ordered {row['Year of order'].strip()}"[:200],
            credibility=3 if order_flag or ordered.text.endswith("?") else 2,
            family=FAMILY,
        )
        drafts = [
            RecordDraft(
                model=Holding,
                external_id=f"sipri-classic:{key}:order",
                line=line,
                values={
                    **quantity_values(ordered),
                    "date": date,
                    "date_precision": precision,
                    "kind": HoldingKind.CONTRACTED,
                    "notes": "; ".join(filter(None, [row["Weapon description"].strip(), comment])),
                },
                parties={
                    "holder": ("Recipient", parties["Recipient"]),
                    "supplier": ("Supplier", parties["Supplier"]),
                },
                system=system,
                citations=[citation],
            )
        ]
        if delivered.low is None or delivered.low > 0:
            last = max(years) if years else None
            ddate, dprecision = year_date(last)
            notes = f"Delivered in {years_text}." if years_text else "Delivery years not given."
            drafts.append(
                RecordDraft(
                    model=Transfer,
                    external_id=f"sipri-classic:{key}:delivered",
                    line=line,
                    values={
                        **quantity_values(delivered),
                        "date": ddate,
                        "date_precision": dprecision,
                        "basis": TransferBasis.CONTRACT,
                        "condition": condition,
                        "pledge_id": None,
                        "notes": notes + (f" {comment}" if comment else ""),
                    },
                    parties={
                        "donor": ("Supplier", parties["Supplier"]),
                        "recipient": ("Recipient", parties["Recipient"]),
                    },
                    system=system,
                    citations=[
                        CitationDraft(
                            source=source,
                            excerpt=raw,
                            locator=citation.locator,
                            credibility=3 if delivered_flag else 2,
                            family=FAMILY,
                        )
                    ],
                    roles=stated_roles(comment),
                )
            )
        return drafts


# What a register's comment states about other parties (issue 17). Stated: "financed by
# Denmark", "financed by aid from USA", "via Egypt". Hedged ("possibly", "probably", "or")
# or naming a company: the words stay in the notes only.
_ROLE_PATTERNS = (
    (
        PartyRoleKind.FINANCER,
        re.compile(
            r"\b(?:[Ff]inanced|[Ff]unded|[Pp]aid for) by (?:aid from )?([A-Z][A-Za-z .-]+?)"
            r"(?= as aid| aid\b|;|,|\.|\)| and |$)"
        ),
    ),
    (PartyRoleKind.INTERMEDIARY, re.compile(r"\bvia ([A-Z][A-Za-z .-]+?)(?=;|,|\.|\)| and |$)")),
)
_HEDGES = re.compile(r"\b(possibly|probably|perhaps|unconfirmed|reportedly|or)\b", re.I)


def stated_roles(comment: str) -> list[RoleDraft]:
    roles = []
    for clause in re.split(r";", comment or ""):
        if _HEDGES.search(clause):
            continue
        for role, pattern in _ROLE_PATTERNS:
            for match in pattern.finditer(clause):
                name = match.group(1).strip()
                if "compan" in name.lower() or not name:
                    continue
                roles.append(RoleDraft(role=role, party=name, excerpt=clause.strip()))
    return roles
