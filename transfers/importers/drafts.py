"""What an importer makes of a row (drafts of records, citations and sources), the
fields an import compares and writes, and what goes wrong with a file or a row (refusals
naming the line, the field and the value)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from transfers.choices import Attribution, SourceType
from transfers.models import (
    Transfer,
    canonical_url,
)
from transfers.records import RECORD_MODELS, RECORD_TYPES, record_type
from transfers.selectors import source_key

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
# Bounded to a few chunks' worth of sources (base.CHUNK records a chunk): a file of one
# source per row (Oryx's proof URLs) would otherwise keep every URL and title it names,
# and memory would grow with the size of the file.
_canonical = functools.lru_cache(maxsize=16_384)(canonical_url)
_source_key = functools.lru_cache(maxsize=16_384)(source_key)


@dataclass(frozen=True, slots=True)
class SourceDraft:
    """A source to cite, matched by canonical URL, or by title when it has no URL."""

    title: str
    url: str = ""
    publisher: str = ""
    author: str = ""
    published_on: dt.date | None = None
    published_precision: str = "day"
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


@dataclass(frozen=True, slots=True)
class RoleDraft:
    """A party's role in the drafted pledge or transfer, as the dataset states it (a
    hedged mention, "possibly financed by", stays in the notes: docs/importing.md)."""

    role: str
    party: str  # the party's name, resolved like any party; unknown names are left out
    excerpt: str = ""


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
    roles: list[RoleDraft] = field(default_factory=list)  # other parties (issue 17)

    def all_lines(self) -> tuple[int, ...]:
        return self.lines or (self.line,)


@dataclass(slots=True)
class Row:
    line: int
    cells: dict[str, str]
    raw: str = ""
