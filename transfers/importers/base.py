"""The machinery every importer shares: reading a file, per-row drafts, the report, and the
bulk write (records, citations, sources, parties and systems, history, stock ledger).

An importer (one module per format) turns the bytes of a file into `RecordDraft`s: the
fields of one record, the party and system *names* it refers to, and its citations. This
module resolves the names, validates every record, compares it with what is stored under
the same `external_id`, and writes the difference in bulk:

1. decode and check the file (encoding, preamble, header, truncation): `FileRefused`,
   nothing is written;
2. draft every row; a bad row is a `RowError` naming its line and field;
3. resolve parties and systems (creating the missing ones), validate each record with
   `full_clean()` (foreign keys and uniqueness are checked here, in memory);
4. if any row was refused and `skip_bad_rows` is off: roll back, write nothing;
5. bulk-create the new records, bulk-update the changed ones (history rows say
   door=import), create or re-point their citations, and post the stock ledger of every
   written record with one `records_post_ledger` call per model, from the instances just
   written. Estimates are marked stale in the same transaction and refreshed by a Celery
   task after the commit.

On PostgreSQL the new records, citations, history rows and ledger rows are written with
COPY (`inventory.services.tracked_bulk_create` / `rows_insert`); elsewhere with
bulk_create and executemany. Either way a 25,000-row file costs a few dozen statements.

A dry run does all of it inside a transaction that is rolled back, so its report is exact.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as dt
import functools
import gc
import hashlib
import io
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.choices import DatePrecision
from core.history import history_door
from core.quantities import QuantityParseError, QuantityRange, approximately, parse_quantity
from core.services import Actor, tracked_bulk_create, tracked_bulk_update
from core.weblinks import MAX_URL_LENGTH, is_web_url
from inventory.catalogue import CatalogueKeys, alias_proposals_propose
from inventory.choices import AliasKind, PartyKind
from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias, normalize_alias
from inventory.services import country_create
from stock.ledger import id_filters
from stock.matching import movements_match
from transfers.choices import Attribution, SourceType
from transfers.models import (
    Citation,
    Pledge,
    Source,
    Transfer,
    canonical_url,
)
from transfers.records import RECORD_MODELS, RECORD_TYPES, record_type
from transfers.selectors import source_key, sources_by_key
from transfers.services import SOURCE_FIELDS, pledge_status_as_stored, records_after_write

MODEL_ORDER: tuple[type[models.Model], ...] = RECORD_MODELS
PARTY_FIELDS: dict[type[models.Model], tuple[str, ...]] = {t.model: t.parties for t in RECORD_TYPES}
# Fields an import compares and writes (besides the party and system foreign keys).
VALUE_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    t.model: (*t.fields, *(("pledge_id",) if t.model is Transfer else ())) for t in RECORD_TYPES
}
QUANTITY_FIELDS = ("quantity_low", "quantity_high", "quantity_text")
COMMON_FIELDS = ("date", "date_precision", "date_end", "notes")
CITATION_FIELDS = ("excerpt", "locator", "stance", "attribution", "reliability", "credibility")


def compared_fields(model: type[models.Model]) -> tuple[str, ...]:
    quantity = QUANTITY_FIELDS if record_type(model).has_quantity else ()
    parties = tuple(f"{name}_id" for name in PARTY_FIELDS[model])
    return (*parties, "system_id", *quantity, *COMMON_FIELDS, *VALUE_FIELDS[model])


# -- what goes wrong ----------------------------------------------------------------------


class FileRefused(Exception):
    """The file is not what it claims to be: nothing of it is read or written."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class RowRefused(Exception):
    """One row cannot be imported; `field` names the column."""

    def __init__(self, field: str, value: Any, message: str) -> None:
        self.field, self.value, self.message = field, "" if value is None else str(value), message
        super().__init__(message)


class RowSkipped(Exception):
    """A well-formed row that says nothing a record can hold (SIPRI's deliveries from an
    unknown supplier to an unknown recipient): skipped and counted, not an error."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        value = f" {self.value!r}" if self.value else ""
        return f"line {self.line}, {self.field}{value}: {self.message}"


# -- drafts: what an importer makes of a row ----------------------------------------------


# A citation's source key is asked for several times per row: canonicalize each URL once.
_canonical = functools.lru_cache(maxsize=200_000)(canonical_url)
_source_key = functools.lru_cache(maxsize=200_000)(source_key)


@dataclass(frozen=True, slots=True)
class SourceDraft:
    """A source to cite, matched by canonical URL, or by title when it has no URL."""

    title: str
    url: str = ""
    publisher: str = ""
    author: str = ""
    published_at: dt.datetime | None = None
    retrieved_at: dt.datetime | None = None
    archive_url: str = ""
    content_sha256: str = ""
    source_type: str = SourceType.DATASET
    reliability: str = "F"
    notes: str = ""

    @property
    def key(self) -> str:
        return _source_key(self.url, self.title)


@dataclass(slots=True)
class CitationDraft:
    source: SourceDraft
    excerpt: str = ""
    locator: str = ""
    stance: str = "supports"
    attribution: str = Attribution.DATASET
    reliability: str = ""
    credibility: int = 6
    # Citations of a record to sources of the same "family" (e.g. any SIPRI release) are
    # the same citation: a newer release re-points it instead of adding another one.
    family: str = ""

    def values(self) -> tuple:
        return tuple(getattr(self, name) for name in CITATION_FIELDS)


@dataclass(slots=True)
class SystemRef:
    """A weapon system by the name the dataset uses; created with these details if missing."""

    name: str
    column: str
    description: str = ""
    sipri_category: str = ""
    origin: str = ""  # a party name, resolved like any party
    details: dict[str, Any] = field(default_factory=dict)  # native format: every field
    aliases: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class RecordDraft:
    model: type[models.Model]
    external_id: str
    line: int
    values: dict[str, Any]
    parties: dict[str, tuple[str, str] | None]  # field -> (column, text); None: no party
    system: SystemRef
    citations: list[CitationDraft] = field(default_factory=list)
    lines: tuple[int, ...] = ()  # every line the record is made of (default: `line`)
    pledge_key: str = ""  # native format: the pledge a transfer fulfils
    key: str = ""  # native format: the key other records refer to this one by

    def all_lines(self) -> tuple[int, ...]:
        return self.lines or (self.line,)


@dataclass(slots=True)
class Row:
    line: int
    cells: dict[str, str]
    raw: str = ""


# -- the report ---------------------------------------------------------------------------


@dataclass
class ImportReport:
    format: str
    filename: str = ""
    dry_run: bool = False
    skip_bad_rows: bool = False
    rows: int = 0
    duplicates: int = 0
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    refused_rows: set[int] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)
    file_error: str = ""
    parties_created: list[str] = field(default_factory=list)
    systems_created: int = 0
    names_unresolved: int = 0
    proposals_created: int = 0
    sources_created: int = 0
    citations_created: int = 0
    citations_updated: int = 0
    seconds: float = 0.0
    written: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    movements: dict[str, int] = field(default_factory=dict)

    def lap(self, phase: str, since: float) -> float:
        """Add the time since `since` to `phase`; returns now (for the next lap)."""
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - since
        return now

    @property
    def ok(self) -> bool:
        return not self.file_error and (not self.errors or self.skip_bad_rows)

    def refuse(self, line: int, field_name: str, value: Any, message: str) -> None:
        self.errors.append(RowError(line, field_name, "" if value is None else str(value), message))
        self.refused_rows.add(line)

    def totals(self) -> dict[str, int]:
        return {
            "created": sum(self.created.values()),
            "updated": sum(self.updated.values()),
            "unchanged": sum(self.unchanged.values()),
            "refused": len(self.refused_rows),
        }

    def summary_lines(self) -> list[str]:
        if self.file_error:
            return [
                f"Refused {self.filename or 'the file'} ({self.format}): {self.file_error}",
                "Nothing was written.",
            ]
        totals = self.totals()
        head = (
            f"{self.format} import of {self.filename or 'the file'}: {self.rows} rows read; "
            f"created {totals['created']}, updated {totals['updated']}, "
            f"unchanged {totals['unchanged']}, refused {totals['refused']} row(s)"
        )
        lines = [head]
        for model in MODEL_ORDER:
            name = model._meta.verbose_name
            c, u, n = self.created[name], self.updated[name], self.unchanged[name]
            if c or u or n:
                lines.append(f"  {name}: created {c}, updated {u}, unchanged {n}")
        extras = []
        if self.duplicates:
            extras.append(f"{self.duplicates} duplicate row(s) ignored")
        if self.skipped:
            extras.append(
                f"{len(self.skipped)} record(s) skipped as saying nothing about a stock "
                f"({'; '.join(self.skipped[:5])}{' …' if len(self.skipped) > 5 else ''})"
            )
        if self.parties_created:
            extras.append(f"parties created: {', '.join(self.parties_created)}")
        if self.systems_created:
            extras.append(f"{self.systems_created} weapon system(s) created")
        if self.names_unresolved:
            extras.append(
                f"{self.names_unresolved} name(s) with no catalogue entry "
                f"({self.proposals_created} candidate(s) proposed): "
                "see `manage.py catalogue unresolved`"
            )
        if self.sources_created:
            extras.append(f"{self.sources_created} source(s) created")
        if self.citations_created or self.citations_updated:
            extras.append(
                f"citations: {self.citations_created} created, {self.citations_updated} updated"
            )
        if self.movements.get("movements") or self.movements.get("pending"):
            extras.append(
                f"matching: {self.movements.get('movements', 0)} movement(s) created or "
                f"updated, {self.movements.get('pending', 0)} new match(es) to review"
            )
        lines.extend(f"  {extra}" for extra in extras)
        for error in self.errors[:200]:
            lines.append(f"  error: {error}")
        if len(self.errors) > 200:
            lines.append(f"  … and {len(self.errors) - 200} more error(s)")
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        elif self.errors and not self.skip_bad_rows:
            lines.append(
                "Nothing was written: fix the rows above, or import with --skip-bad-rows "
                "to import the other rows."
            )
        elif self.errors:
            lines.append(f"Skipped {len(self.refused_rows)} bad row(s); the others were imported.")
        if self.timings:
            lines.append(
                "  time: "
                + ", ".join(f"{name} {secs:.2f} s" for name, secs in self.timings.items())
            )
        if self.seconds:
            rate = self.rows / self.seconds if self.seconds else 0
            lines.append(f"  {self.seconds:.2f} s ({rate:,.0f} rows/s)")
        return lines

    def summary(self) -> str:
        return "\n".join(self.summary_lines())


# -- shared parsing helpers ---------------------------------------------------------------


def decode(data: bytes, encoding: str, label: str) -> str:
    """Decode strictly; a wrong encoding is refused with the line where it shows."""
    if data.startswith(b"\xef\xbb\xbf") and encoding.replace("-", "").lower() == "utf8":
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRefused(
            f"the file is not {encoding} as {label} files are (byte {data[exc.start]:#04x} "
            f"cannot be read)",
            line=line,
        ) from exc


def read_csv(
    text: str, *, start_line: int = 1, delimiter: str = ","
) -> list[tuple[int, list[str]]]:
    """CSV rows with the line each starts on. An unterminated quote is a truncated file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = start_line
    try:
        for cells in reader:
            rows.append((line, cells))
            line = start_line + reader.line_num
    except csv.Error as exc:
        raise FileRefused(f"the file is truncated or malformed ({exc})", line=line) from exc
    return rows


def check_header(found: list[str], expected: list[str], *, line: int, label: str) -> None:
    if [cell.strip() for cell in found] != [cell.strip() for cell in expected]:
        missing = [name for name in expected if name.strip() and name not in found]
        extra = [name for name in found if name.strip() and name not in expected]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(map(repr, missing))}")
        if extra:
            detail.append(f"unexpected {', '.join(map(repr, extra))}")
        if not detail:
            detail.append("the columns are in another order")
        raise FileRefused(
            f"the header is not that of a {label} file ({'; '.join(detail)})", line=line
        )


def check_rows_complete(rows: list[tuple[int, list[str]]], width: int, text: str) -> None:
    """A last row shorter than the header, in a file that does not end with a line break,
    is a truncated file."""
    if rows and len(rows[-1][1]) != width and not text.endswith(("\n", "\r")):
        raise FileRefused(
            f"the file is truncated: its last row has {len(rows[-1][1])} of {width} fields "
            "and no line end",
            line=rows[-1][0],
        )


YEAR_MIN, YEAR_MAX = 1900, 2100


def parse_year(value: str, column: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{4}", value):
        raise RowRefused(column, value, "is not a year (four digits)")
    year = int(value)
    if not YEAR_MIN <= year <= min(YEAR_MAX, timezone.now().year + 1):
        raise RowRefused(column, value, f"is not a possible year ({YEAR_MIN}–this year)")
    return year


def year_date(year: int | None) -> tuple[dt.date | None, str]:
    if year is None:
        return None, DatePrecision.UNKNOWN
    return dt.date(year, 1, 1), DatePrecision.YEAR


def parse_count(
    value: str, column: str, *, estimate: bool = False, zero_unknown: bool = False
) -> QuantityRange:
    """A dataset's count: a non-negative whole number (blank: unknown); `estimate` widens
    it as "about" (SIPRI's flags); `zero_unknown` reads 0 as unknown (Oryx)."""
    value = (value or "").strip()
    if value in ("", "?"):
        return QuantityRange(None, None, value)
    cleaned = value.replace(",", "")
    if re.fullmatch(r"\d+\.0+", cleaned):
        cleaned = cleaned.split(".")[0]
    if not re.fullmatch(r"\d+", cleaned):
        raise RowRefused(column, value, "is not a possible number of units (a whole number ≥ 0)")
    number = int(cleaned)
    if number > 10_000_000:
        raise RowRefused(column, value, "is not a possible number of units (too large)")
    if number == 0 and zero_unknown:
        return QuantityRange(None, None, "unknown")
    if estimate and number > 0:
        return QuantityRange(*approximately(number), f"{number}?")
    return QuantityRange(number, number, str(number))


def quantity_values(quantity: QuantityRange) -> dict[str, Any]:
    return {
        "quantity_low": quantity.low,
        "quantity_high": quantity.high,
        "quantity_text": quantity.text[:200],
    }


def parse_wording(value: str, column: str) -> QuantityRange:
    try:
        return parse_quantity(value)
    except QuantityParseError as exc:
        raise RowRefused(column, value, str(exc)) from exc


def short_hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]


def check_url(value: str, column: str) -> str:
    """An http(s) address (core.weblinks, the rule of every door), else the row is
    refused naming the column and the value."""
    value = (value or "").strip()
    if len(value) > MAX_URL_LENGTH:
        raise RowRefused(column, value[:60], f"is longer than {MAX_URL_LENGTH} characters")
    if not is_web_url(value):
        raise RowRefused(column, value, "is not a web address (http:// or https://)")
    return value


# -- resolving parties and systems in memory ----------------------------------------------

# A register names the same few hundred parties and systems over and over: normalize each
# spelling once.
_normalized = functools.lru_cache(maxsize=100_000)(normalize_alias)

# Spellings of states that datasets use and the catalogue does not know (added as aliases
# the first time an import meets them).
STATE_SPELLINGS = {
    "bosnia herzegovina": "BA",
    "czechia": "CZ",
    "turkiye": "TR",
    "libya": "LY",
    "syria": "SY",
    "iran": "IR",
    "laos": "LA",
    "moldova": "MD",
    "tanzania": "TZ",
    "venezuela": "VE",
    "bolivia": "BO",
    "vietnam": "VN",
    "east timor": "TL",
    "timor leste": "TL",
    "brunei": "BN",
    "gambia": "GM",
    "bahamas": "BS",
    "kosovo": "XK",
    "north macedonia": "MK",
    "eswatini": "SZ",
    "cabo verde": "CV",
    "sao tome and principe": "ST",
    "st vincent and the grenadines": "VC",
    "st kitts and nevis": "KN",
    "st lucia": "LC",
}


# Parties that are neither ISO states nor marked with SIPRI's stars, that registers name:
# created with this kind the first time an import meets them.
KNOWN_PARTIES = {
    "north yemen": ("North Yemen", PartyKind.HISTORICAL),
    "south yemen": ("South Yemen", PartyKind.HISTORICAL),
    "south vietnam": ("South Vietnam", PartyKind.HISTORICAL),
    "north vietnam": ("North Vietnam", PartyKind.HISTORICAL),
    "rhodesia": ("Rhodesia", PartyKind.HISTORICAL),
    "katanga": ("Katanga", PartyKind.NON_STATE),
    "biafra": ("Biafra", PartyKind.NON_STATE),
}


def party_words(name: str) -> str:
    """A party's name as the set of its words, parentheses and SIPRI's stars ignored:
    "HoR (Libya)*" and "Libya HoR" are both "hor libya"."""
    return " ".join(sorted(set(_normalized((name or "").rstrip("*")).split())))


def party_code(name: str, *, digest: int = 4) -> str:
    """The code minted for a party that is not a state: the initials of its words (in
    `party_words` order, at most four) and a short digest of those words, "HL-RV5Y" for
    "HoR (Libya)" and "Libya HoR" alike. Never two letters (reserved for ISO 3166)."""
    words = party_words(name)
    initials = "".join(word[0] for word in words.split()).upper()[:4] or "X"
    tail = base64.b32encode(hashlib.sha1(words.encode()).digest()).decode()[:digest]
    return f"{initials}-{tail}"


class PartyIndex:
    """Every party by code, name and alias, loaded once; new parties are created through
    `country_create` as the import meets them."""

    def __init__(self, actor: Actor = None) -> None:
        self.actor = actor
        self.by_key: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.by_words: dict[str, set[int]] = {}  # party_words(name or alias) -> parties
        for pk, code, name in Country.objects.values_list("pk", "code", "name"):
            self.by_key.setdefault(f"code:{code.upper()}", pk)
            self.by_key.setdefault(f"name:{name.lower()}", pk)
            self.names[pk] = name
        for country_id, key in CountryAlias.objects.values_list("country_id", "alias_normalized"):
            self.by_key.setdefault(f"alias:{key}", country_id)
            self.by_words.setdefault(party_words(key), set()).add(country_id)
        for pk, name in self.names.items():
            self.by_words.setdefault(party_words(name), set()).add(pk)
        self.codes = {key[5:] for key in self.by_key if key.startswith("code:")}
        self.created: list[str] = []

    def find(self, text: str) -> int | None:
        text = (text or "").strip()
        if not text:
            return None
        for key in (
            f"code:{text.upper()}",
            f"name:{text.lower()}",
            f"alias:{_normalized(text)}",
        ):
            if key in self.by_key:
                return self.by_key[key]
        return None

    def resolve(self, text: str, *, column: str, create: bool = True) -> int:
        """The party a dataset names: its code, name or alias; SIPRI's `*` (non-state) and
        `**` (organization) parties are created when missing; "unknown …" is XXU."""
        text = (text or "").strip()
        found = self.find(text)
        if found is not None:
            return found
        bare = text.rstrip("*").strip()
        stars = len(text) - len(text.rstrip("*"))
        found = self.find(bare) if bare != text else None
        if found is None and _normalized(bare) in STATE_SPELLINGS:
            found = self.find(STATE_SPELLINGS[_normalized(bare)])
            if found is not None and create:
                self._alias(found, text)
        if found is None and bare:
            # the same words in another order ("Libya HoR" and "HoR (Libya)"): one party
            same = self.by_words.get(party_words(bare), set())
            if len(same) == 1:
                found = next(iter(same))
                if create:
                    self._alias(found, text)
        if found is not None:
            return found
        if bare.lower().startswith("unknown") and not stars:
            unknown = self.find("XXU")
            if unknown is not None:
                return unknown
        known = KNOWN_PARTIES.get(_normalized(bare))
        if (not stars and not known) or not create or not bare:
            raise RowRefused(
                column, text, "is not a known country or party (add it or an alias first)"
            )
        if known:
            bare, kind = known
        else:
            kind = PartyKind.ORGANIZATION if stars >= 2 else PartyKind.NON_STATE
        code = self._new_code(bare)
        party = country_create(code=code, name=bare, kind=kind, aliases=[text], actor=self.actor)
        for key in (f"code:{code}", f"name:{bare.lower()}", f"alias:{_normalized(text)}"):
            self.by_key[key] = party.pk
        self.by_words.setdefault(party_words(bare), set()).add(party.pk)
        self.names[party.pk] = bare
        self.codes.add(code)
        self.created.append(f"{bare} ({code}, {kind})")
        return party.pk

    def _alias(self, country_id: int, text: str) -> None:
        key = _normalized(text)
        if key and f"alias:{key}" not in self.by_key:
            CountryAlias.objects.create(country_id=country_id, alias=text, alias_normalized=key)
            self.by_key[f"alias:{key}"] = country_id

    def _new_code(self, name: str) -> str:
        """A code made from the name alone (`party_code`), so the same party gets the same
        code whichever file, spelling or order of imports meets it first."""
        code = party_code(name)
        # never a code that is already some party's code, name or alias (LUX is Luxembourg);
        # a longer digest only for the (astronomically rare) clash of two digests
        length = 4
        while code in self.codes or self.find(code) is not None:
            length += 1
            code = party_code(name, digest=length)
        return code


class SystemIndex:
    """Every weapon system by name and alias (normalized), and the catalogue's designation
    keys, loaded once (`inventory.catalogue.CatalogueKeys`). A name resolves by its exact
    name or alias, else by a designation equal to one catalogue entry's ("Leopard 2A4" finds
    "Leopard-2A4"; the spelling is then added as an alias of the entry). Names that still
    resolve to nothing become systems created in bulk outside the catalogue (listed as
    unresolved), each with the dataset's spelling as an alias and the catalogue entries it
    may be proposed for (`alias_proposals_propose`)."""

    def __init__(self, dataset: str = "") -> None:
        self.dataset = dataset
        self.catalogue = CatalogueKeys()
        self.by_name = self.catalogue.by_name
        self.by_alias = self.catalogue.by_alias
        self.taken_aliases = set(self.catalogue.alias_keys)
        self.pending: dict[str, SystemRef] = {}  # normalized key -> first reference
        self.learned: dict[str, tuple[int, str]] = {}  # alias key -> (entry id, spelling)
        self.proposals_created = 0
        self.unresolved_created = 0

    def key(self, name: str) -> str:
        return _normalized(name) or name.lower()

    def find(self, name: str) -> int | None:
        name = (name or "").strip()
        if name.lower() in self.by_name:
            return self.by_name[name.lower()]
        key = self.key(name)
        found = self.by_alias.get(key)
        if found is None and name:
            found = self.catalogue.by_designation_of(name)
            if found is not None:
                self.by_alias[key] = found
                if key not in self.taken_aliases:
                    self.learned.setdefault(key, (found, name))
        return found

    def need(self, ref: SystemRef) -> None:
        name = (ref.name or "").strip()
        if not name:
            raise RowRefused(ref.column, ref.name, "names no weapon system")
        if len(name) > 200:
            raise RowRefused(ref.column, name[:60], "is longer than 200 characters")
        if self.find(name) is None:
            self.pending.setdefault(self.key(name), ref)

    def create_pending(
        self, parties: PartyIndex, actor: Actor, keys: set[str] | None = None
    ) -> int:
        learned = [
            WeaponSystemAlias(
                system_id=pk, alias=text, kind=AliasKind.DATASET_SPELLING, alias_normalized=key
            )
            for key, (pk, text) in self.learned.items()
            if (keys is None or key in keys) and key not in self.taken_aliases
        ]
        if learned:
            self.taken_aliases.update(a.alias_normalized for a in learned)
            tracked_bulk_create(WeaponSystemAlias, learned, actor=actor)
            self.learned = {k: v for k, v in self.learned.items() if k not in self.taken_aliases}
        refs = [ref for key, ref in self.pending.items() if keys is None or key in keys]
        if not refs:
            return 0
        systems = []
        for ref in refs:
            details = dict(ref.details)
            origin_id = None
            origin = details.pop("origin", "") or ref.origin
            if origin:
                origin_id = parties.find(origin)
            systems.append(
                WeaponSystem(
                    name=ref.name.strip(),
                    description=(details.pop("description", "") or ref.description)[:300],
                    sipri_category=details.pop("sipri_category", "") or ref.sipri_category,
                    origin_id=origin_id,
                    catalogued=details.pop("catalogued", False),
                    **details,
                )
            )
        created = tracked_bulk_create(WeaponSystem, systems, actor=actor)
        aliases = []
        for ref, system in zip(refs, created, strict=True):
            self.by_name[system.name.lower()] = system.pk
            self.by_alias.setdefault(self.key(system.name), system.pk)
            wanted = ref.aliases or [(ref.name, AliasKind.DATASET_SPELLING)]
            for text, kind in wanted:
                key = _normalized(text)
                if key and key not in self.taken_aliases:
                    self.taken_aliases.add(key)
                    self.by_alias[key] = system.pk
                    aliases.append(
                        WeaponSystemAlias(
                            system=system, alias=text, kind=kind, alias_normalized=key
                        )
                    )
        tracked_bulk_create(WeaponSystemAlias, aliases, actor=actor)
        for ref in refs:
            self.pending.pop(self.key(ref.name), None)
        unresolved = [system for system in created if not system.catalogued]
        self.unresolved_created += len(unresolved)
        self.proposals_created += alias_proposals_propose(
            systems=unresolved, dataset=self.dataset, keys=self.catalogue, actor=actor
        )
        return len(created)

    def link_parents(self, parents: dict[str, str], actor: Actor) -> None:
        """Native format: set the family of systems created by this import."""
        changed = []
        for name, parent in parents.items():
            system_id, parent_id = self.find(name), self.find(parent)
            if system_id and parent_id and system_id != parent_id:
                changed.append(WeaponSystem(pk=system_id, parent_id=parent_id))
        if changed:
            objs = list(WeaponSystem.objects.filter(pk__in=[s.pk for s in changed]))
            wanted = {s.pk: s.parent_id for s in changed}
            objs = [o for o in objs if o.parent_id is None]
            for obj in objs:
                obj.parent_id = wanted[obj.pk]
            tracked_bulk_update(WeaponSystem, objs, ["parent"], actor=actor)


# -- the importer interface ---------------------------------------------------------------


class Importer:
    """One file format. Subclasses set `name`, `label`, `encoding` and implement `drafts`."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    encoding: ClassVar[str] = "utf-8"
    description: ClassVar[str] = ""

    def __init__(self, *, release: str = "", filename: str = "") -> None:
        self.release = release
        self.filename = filename
        self.sha256 = ""

    def decode(self, data: bytes) -> str:
        return decode(data, self.encoding, self.label)

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        """Check the file (raise FileRefused) and yield drafts; a bad row is reported with
        `report.refuse(...)` and yields nothing."""
        raise NotImplementedError

    def release_name(self) -> str:
        return self.release or f"file SHA-256 {self.sha256[:12]}"

    def table_drafts(
        self,
        text: str,
        header: list[str],
        report: ImportReport,
        draft: Callable[[int, dict[str, str], list[str]], Iterable[RecordDraft]],
    ) -> Iterator[RecordDraft]:
        """The drafts of a plain CSV file with this header: the file is checked first
        (empty, header, truncation: FileRefused), then `draft(line, row, cells)` runs for
        each non-empty row; a row of another width, or one whose draft raises RowRefused, is
        reported and yields nothing."""
        if not text.strip():
            raise FileRefused(f"the file is empty: a {self.label} starts with a header")
        rows = read_csv(text)
        check_header(rows[0][1], header, line=1, label=self.label)
        check_rows_complete(rows, len(header), text)
        for line, cells in rows[1:]:
            if not cells:
                continue
            report.rows += 1
            if len(cells) != len(header):
                report.refuse(line, "row", "", f"has {len(cells)} fields, the header {len(header)}")
                continue
            try:
                yield from draft(line, dict(zip(header, cells, strict=True)), cells)
            except RowRefused as exc:
                report.refuse(line, exc.field, exc.value, exc.message)

    def extra_setup(self, parties: PartyIndex, systems: SystemIndex, actor: Actor) -> None:
        """Native format: create what the file describes besides records."""


# -- the engine ---------------------------------------------------------------------------


class _Rollback(Exception):
    pass


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """An import holds hundreds of thousands of live objects (drafts, records, rows) and
    frees almost none until it ends: the cyclic garbage collector's full passes over them
    cost a quarter of the time of a 100,000-row file and find nothing. Pause it for the
    import; it resumes (and collects as usual) afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_import(
    importer: Importer,
    data: bytes,
    *,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    actor: Actor = None,
) -> ImportReport:
    """Import the bytes of one file; see the module docstring. Never half-writes."""
    with _collector_paused():
        return _run_import(
            importer, data, dry_run=dry_run, skip_bad_rows=skip_bad_rows, actor=actor
        )


def _run_import(
    importer: Importer,
    data: bytes,
    *,
    dry_run: bool,
    skip_bad_rows: bool,
    actor: Actor,
) -> ImportReport:
    started = timezone.now()
    report = ImportReport(
        format=importer.name,
        filename=importer.filename,
        dry_run=dry_run,
        skip_bad_rows=skip_bad_rows,
    )
    importer.sha256 = hashlib.sha256(data).hexdigest()
    clock = time.perf_counter()
    try:
        text = importer.decode(data)
        drafts = list(importer.drafts(text, report))
    except FileRefused as exc:
        report.file_error = str(exc)
        return report
    drafts = _deduplicate(drafts, report)
    report.lap("read and draft", clock)
    try:
        with transaction.atomic(), history_door("import"):
            _write(importer, drafts, report, actor=actor, dry_run=dry_run)
            if dry_run or (report.errors and not skip_bad_rows):
                raise _Rollback
            report.written = True
    except _Rollback:
        report.written = False
    report.seconds = (timezone.now() - started).total_seconds()
    return report


def _draft_signature(draft: RecordDraft) -> tuple:
    return (
        draft.model,
        tuple(sorted((k, repr(v)) for k, v in draft.values.items())),
        tuple(sorted(draft.parties.items(), key=lambda item: item[0], reverse=False)),
        draft.system.name,
        tuple((c.source.key, c.values()) for c in draft.citations),
    )


def _deduplicate(drafts: list[RecordDraft], report: ImportReport) -> list[RecordDraft]:
    """Rows repeated word for word (Oryx's list has some) are imported once; two different
    rows claiming one key are both refused."""
    seen: dict[tuple[type, str], RecordDraft] = {}
    result = []
    for draft in drafts:
        if not draft.external_id:
            result.append(draft)
            continue
        key = (draft.model, draft.external_id)
        first = seen.get(key)
        if first is None:
            seen[key] = draft
            result.append(draft)
        elif _draft_signature(first) == _draft_signature(draft):
            report.duplicates += 1
        else:
            report.refuse(
                draft.line,
                "id",
                draft.external_id,
                f"the same key as line {first.line} with different values",
            )
    return result


def _write(
    importer: Importer,
    drafts: list[RecordDraft],
    report: ImportReport,
    *,
    actor: Actor,
    dry_run: bool,
) -> None:
    now = timezone.now()
    clock = time.perf_counter()
    parties = PartyIndex(actor)
    systems = SystemIndex(dataset=importer.name)
    importer.extra_setup(parties, systems, actor)

    # 1. resolve names and validate each record (in memory: no query per row)
    prepared: list[tuple[RecordDraft, models.Model]] = []
    builder = _Builder()
    for draft in drafts:
        if report.refused_rows.intersection(draft.all_lines()):
            continue
        try:
            instance = _instance(draft, parties, systems, builder)
        except RowRefused as exc:
            report.refuse(draft.line, exc.field, exc.value, exc.message)
            continue
        except RowSkipped as exc:
            report.skipped.append(f"line {draft.line}: {exc}")
            continue
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    report.refuse(draft.line, name, "", message)
            continue
        prepared.append((draft, instance))
    report.parties_created = list(parties.created)
    clock = report.lap("validate", clock)
    if report.errors and not report.skip_bad_rows:
        return
    prepared = [(d, i) for d, i in prepared if not report.refused_rows.intersection(d.all_lines())]

    # 2. systems the file names that the catalogue lacks, in bulk
    wanted = {systems.key(d.system.name) for d, _ in prepared}
    report.systems_created = systems.create_pending(parties, actor, keys=wanted)
    report.names_unresolved = systems.unresolved_created
    report.proposals_created = systems.proposals_created
    for draft, instance in prepared:
        instance.system_id = systems.find(draft.system.name)

    # 3. sources, in bulk, matched by canonical URL or title
    source_ids = _sources(prepared, report, actor)
    clock = report.lap("systems and sources", clock)

    # 4. records and citations, per model in order (pledges before the transfers that
    # fulfil them)
    keys: dict[str, int] = {}
    touched: set[tuple[int, int]] = set()
    by_model: dict[type[models.Model], list[tuple[RecordDraft, models.Model]]] = defaultdict(list)
    for draft, instance in prepared:
        by_model[draft.model].append((draft, instance))
    for model in MODEL_ORDER:
        batch = by_model.get(model, [])
        if not batch:
            continue
        for draft, instance in batch:
            if draft.pledge_key:
                instance.pledge_id = keys.get(draft.pledge_key)
        written = _records(model, batch, report, source_ids, actor, now)
        clock = report.lap("records, citations, history", clock)
        for draft, instance in batch:
            if draft.key and instance.pk:
                keys[draft.key] = instance.pk
        if written:
            # the same rules as a single write (pledges follow deliveries, the ledger),
            # from the instances just written: nothing is read back; matched once below
            touched |= records_after_write(
                model=model, ids=list(written), records=written.values(), actor=actor, match=False
            )
            clock = report.lap("stock ledger", clock)
    # 5. the new reports meet the reports of other datasets: one movement, counted once
    if touched:
        report.movements = movements_match(touched)
        report.lap("matching", clock)


class _Builder:
    """Builds and validates the records of one import.

    `full_clean()` as the single-record services run it, minus what is repeated: cleaning
    a field's value (to_python, choices, length, validators) depends on the field and the
    value alone, so each distinct value of each field is cleaned once per import (a
    register repeats its kinds, precisions and quantities thousands of times), and the
    instance is built from positional values (the ORM's fast path)."""

    def __init__(self) -> None:
        self.cleaned: dict[tuple, tuple[Any, ValidationError | None]] = {}
        self.layouts: dict[type[models.Model], tuple[tuple[str, ...], tuple[Any, ...]]] = {}

    def build(self, model: type[models.Model], values: dict[str, Any]) -> models.Model:
        layout = self.layouts.get(model)
        if layout is None:
            fields = model._meta.concrete_fields
            layout = (
                tuple(f.attname for f in fields),
                tuple(None if f.primary_key else f.get_default() for f in fields),
            )
            callable_default = any(callable(f.default) for f in fields if f.has_default())
            self.layouts[model] = layout = layout if not callable_default else ((), ())
        names, defaults = layout
        if not names or not values.keys() <= set(names):
            return model(**values)
        return model(
            *(values.get(name, default) for name, default in zip(names, defaults, strict=True))
        )

    def full_clean(self, instance: models.Model, exclude: set[str]) -> None:
        errors: dict[str, list] = {}
        for f in instance._meta.fields:
            if f.name in exclude or f.generated:
                continue
            raw = getattr(instance, f.attname)
            if f.blank and raw in f.empty_values:
                continue
            try:
                key = (f, type(raw), raw)
                hit = self.cleaned.get(key)
            except TypeError:  # an unhashable value: clean it every time
                key, hit = None, None
            if hit is None:
                try:
                    hit = (f.clean(raw, instance), None)
                except ValidationError as exc:
                    hit = (raw, exc)
                if key is not None:
                    self.cleaned[key] = hit
            value, error = hit
            if error is not None:
                errors[f.name] = error.error_list
            else:
                setattr(instance, f.attname, value)
        if errors:
            errors = ValidationError(errors).update_error_dict({})
        try:
            instance.clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


def _instance(
    draft: RecordDraft, parties: PartyIndex, systems: SystemIndex, builder: _Builder
) -> models.Model:
    model = draft.model
    values = dict(draft.values)
    for name in PARTY_FIELDS[model]:
        ref = draft.parties.get(name)
        values[f"{name}_id"] = parties.resolve(ref[1], column=ref[0]) if ref else None
    ids = [values[f"{name}_id"] for name in PARTY_FIELDS[model] if values[f"{name}_id"]]
    if len(ids) == 2 and ids[0] == ids[1] and ids[0] == parties.find("XXU"):
        raise RowSkipped(f"{model._meta.verbose_name} between two unknown parties")
    systems.need(draft.system)
    values["system_id"] = systems.find(draft.system.name)
    values["external_id"] = draft.external_id
    instance = builder.build(model, values)
    exclude = {*PARTY_FIELDS[model], "system", "external_id"}
    if model is Transfer:
        exclude.add("pledge")
    builder.full_clean(instance, exclude)
    return instance


def _sources(prepared, report: ImportReport, actor: Actor) -> dict[str, int]:
    drafts: dict[str, SourceDraft] = {}
    for draft, _ in prepared:
        for citation in draft.citations:
            drafts.setdefault(citation.source.key, citation.source)
    ids = sources_by_key(drafts)
    new = []
    for key, spec in drafts.items():
        if key in ids:
            continue
        source = Source(**{name: getattr(spec, name) for name in SOURCE_FIELDS})
        source.url_canonical = _canonical(source.url) if source.url else ""
        source.title = source.title[:500]
        new.append((key, source))
    if new:
        created = tracked_bulk_create(Source, [s for _, s in new], actor=actor)
        for (key, _), source in zip(new, created, strict=True):
            ids[key] = source.pk
        report.sources_created = len(created)
    return ids


def _external_id_filters(ext_ids: list[str]) -> Iterator[models.Q]:
    """Filters selecting the records with these keys: on PostgreSQL one array parameter
    (`IN (SELECT unnest(...))`) for all of them, elsewhere IN lists of 2,000."""
    if not ext_ids:
        return
    if connection.vendor == "postgresql":
        yield models.Q(external_id__in=RawSQL("SELECT unnest(%s::text[])", [ext_ids]))
        return
    for start in range(0, len(ext_ids), 2000):
        yield models.Q(external_id__in=ext_ids[start : start + 2000])


def _comparable(instance: models.Model, model: type[models.Model]) -> tuple:
    return tuple(getattr(instance, name) for name in compared_fields(model))


def _records(
    model: type[models.Model],
    batch: list[tuple[RecordDraft, models.Model]],
    report: ImportReport,
    source_ids: dict[str, int],
    actor: Actor,
    now: dt.datetime,
) -> dict[int, models.Model]:
    """Create, update or leave each record; returns the records whose ledger must be
    posted (by id, as written)."""
    name = model._meta.verbose_name
    field = model._meta.model_name
    fields = compared_fields(model)
    existing: dict[str, models.Model] = {}
    ext_ids = [d.external_id for d, _ in batch if d.external_id]
    for query in _external_id_filters(ext_ids):
        for obj in model.objects.filter(query):
            existing[obj.external_id] = obj
    # Records without a key (entered by hand, exported natively) are the same record when
    # everything about them, citations included, is the same.
    by_content: dict[tuple, list[models.Model]] = defaultdict(list)
    if any(not d.external_id for d, _ in batch):
        blank = list(model.objects.filter(external_id=""))
        cites = _citations_of(model, [o.pk for o in blank])
        for obj in blank:
            by_content[(_comparable(obj, model), _citation_set(cites.get(obj.pk, [])))].append(obj)

    delivered: set[int] = set()
    if model is Pledge and existing:
        fulfilled = Transfer.objects.filter(pledge_id__in=[o.pk for o in existing.values()])
        delivered = set(fulfilled.values_list("pledge_id", flat=True))

    to_create: list[tuple[RecordDraft, models.Model]] = []
    to_update: list[tuple[RecordDraft, models.Model]] = []
    changed_fields: set[str] = set()
    kept: list[tuple[RecordDraft, models.Model]] = []
    for draft, instance in batch:
        if not draft.external_id:
            wanted = _citation_set(
                [(source_ids[c.source.key], *c.values()) for c in draft.citations]
            )
            matches = by_content.get((_comparable(instance, model), wanted))
            if matches:
                stored = matches.pop(0)
                instance.pk = stored.pk
                report.unchanged[name] += 1
                continue
            to_create.append((draft, instance))
            continue
        stored = existing.get(draft.external_id)
        if stored is None:
            to_create.append((draft, instance))
            continue
        if model is Pledge:
            instance.status = pledge_status_as_stored(
                status=instance.status,
                stored_status=stored.status,
                has_deliveries=stored.pk in delivered,
            )
        diff = [f for f in fields if getattr(stored, f) != getattr(instance, f)]
        instance.pk = stored.pk
        if diff:
            for f in diff:
                setattr(stored, f, getattr(instance, f))
            stored.updated_at = now
            changed_fields.update(diff)
            to_update.append((draft, stored))
        else:
            kept.append((draft, stored))

    written: dict[int, models.Model] = {}
    if to_create:
        created = tracked_bulk_create(model, [i for _, i in to_create], actor=actor)
        for (_draft, instance), obj in zip(to_create, created, strict=True):
            instance.pk = obj.pk
            written[obj.pk] = obj
        report.created[name] += len(created)
        new_citations = [
            _citation(source_ids[c.source.key], field, instance.pk, c)
            for draft, instance in to_create
            for c in draft.citations
        ]
        tracked_bulk_create(Citation, new_citations, actor=actor)
        report.citations_created += len(new_citations)
    if to_update:
        fields_to_write = sorted(
            {f.removesuffix("_id") if f.endswith("_id") else f for f in changed_fields}
        )
        # bulk_update wants field names; foreign keys by their name, not attname
        tracked_bulk_update(
            model, [i for _, i in to_update], [*fields_to_write, "updated_at"], actor=actor
        )
        report.updated[name] += len(to_update)
        written.update((i.pk, i) for _, i in to_update)

    # citations of stored records: the same file changes nothing; a newer release
    # re-points and rewrites the dataset citation of the rows that changed
    stored_pairs = [*to_update, *kept]
    recited = _sync_citations(model, stored_pairs, source_ids, report, actor)
    for _draft, obj in kept:
        if obj.pk in recited:
            report.updated[name] += 1
            written[obj.pk] = obj
        else:
            report.unchanged[name] += 1
    return written


_CITATION_COLUMNS = tuple(f.attname for f in Citation._meta.concrete_fields)
_CITATION_BLANK = dict.fromkeys(_CITATION_COLUMNS)


def _citation(source_id: int, record_field: str, record_id: int, spec: CitationDraft) -> Citation:
    """A new Citation built from positional values (every concrete field, in order): many
    times cheaper than keyword arguments for tens of thousands of citations."""
    values = dict(_CITATION_BLANK)
    values["source_id"] = source_id
    values[f"{record_field}_id"] = record_id
    for name in CITATION_FIELDS:
        values[name] = getattr(spec, name)
    return Citation(*values.values())


def _citations_of(model, ids: Iterable[int]) -> dict[int, list[tuple]]:
    field = model._meta.model_name
    found: dict[int, list[tuple]] = defaultdict(list)
    ids = list(ids)
    for query in id_filters(f"{field}_id", ids):
        for row in Citation.objects.filter(query).values_list(
            f"{field}_id", "source_id", *CITATION_FIELDS
        ):
            found[row[0]].append(row[1:])
    return found


def _citation_set(rows: Iterable[tuple]) -> tuple:
    return tuple(sorted(rows, key=repr))


def _sync_citations(model, pairs, source_ids, report: ImportReport, actor: Actor) -> set[int]:
    """Make the stored records' citations say what the file says. Returns the ids of
    records whose citations changed."""
    if not pairs:
        return set()
    field = model._meta.model_name
    ids = [obj.pk for _, obj in pairs]
    stored: dict[int, list[Citation]] = defaultdict(list)
    for query in id_filters(f"{field}_id", ids):
        for citation in Citation.objects.filter(query).select_related("source"):
            stored[getattr(citation, f"{field}_id")].append(citation)
    to_create: list[Citation] = []
    to_update: list[Citation] = []
    changed: set[int] = set()
    for draft, obj in pairs:
        mine = stored.get(obj.pk, [])
        for spec in draft.citations:
            source_id = source_ids[spec.source.key]
            same = next((c for c in mine if c.source_id == source_id), None)
            if same is None and spec.family:
                same = next(
                    (
                        c
                        for c in mine
                        if c.source.title.startswith(spec.family) and c.excerpt != spec.excerpt
                    ),
                    None,
                )
                if same is None and any(
                    c.source.title.startswith(spec.family) and c.excerpt == spec.excerpt
                    for c in mine
                ):
                    continue  # an earlier release says exactly this: it still supports it
            if same is None:
                to_create.append(
                    Citation(
                        source_id=source_id,
                        **{f"{field}_id": obj.pk},
                        **{n: getattr(spec, n) for n in CITATION_FIELDS},
                    )
                )
                changed.add(obj.pk)
                continue
            values = {n: getattr(spec, n) for n in CITATION_FIELDS}
            if same.source_id != source_id or any(getattr(same, n) != v for n, v in values.items()):
                same.source_id = source_id
                for n, v in values.items():
                    setattr(same, n, v)
                to_update.append(same)
                changed.add(obj.pk)
    if to_create:
        tracked_bulk_create(Citation, to_create, actor=actor)
        report.citations_created += len(to_create)
    if to_update:
        tracked_bulk_update(Citation, to_update, ["source", *CITATION_FIELDS], actor=actor)
        report.citations_updated += len(to_update)
    return changed
