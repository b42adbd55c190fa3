"""The importer interface and `run_import`; the machinery every importer shares, split by
concern: `drafts` (what a row becomes, refusals), `report`, `parsing`, `resolve` (parties
and systems in memory), `writer` (the bulk write).

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

import contextlib
import gc
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

from django.db import transaction
from django.utils import timezone

from core.history import history_door
from core.services import Actor
from transfers.importers.drafts import FileRefused, RecordDraft, RowRefused
from transfers.importers.parsing import check_header, check_rows_complete, decode, read_csv
from transfers.importers.report import ImportReport
from transfers.importers.resolve import PartyIndex, SystemIndex
from transfers.importers.writer import _write

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
