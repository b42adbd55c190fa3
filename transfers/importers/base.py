"""The importer interface and `run_import`; the machinery every importer shares, split by
concern: `drafts` (what a row becomes, refusals), `report`, `parsing`, `resolve` (parties
and systems in memory), `writer` (the bulk write).

An importer (one module per format) turns the bytes of a file into `RecordDraft`s: the
fields of one record, the party and system *names* it refers to, and its citations. This
module resolves the names, validates every record, compares it with what is stored under
the same `external_id`, and writes the difference in bulk, a chunk of `CHUNK` records at
a time inside one transaction (memory stays flat in the size of the file; the native JSON
export is also read as a stream, `NativeJsonImporter.read`):

1. decode and check the file (encoding, preamble, header, truncation): `FileRefused`,
   nothing is written (found late in a streamed file: everything is rolled back);
2. draft every row; a bad row is a `RowError` naming its line and field;
3. resolve parties and systems (creating the missing ones), validate each record with
   `full_clean()` (foreign keys and uniqueness are checked here, in memory);
4. if any row was refused and `skip_bad_rows` is off: nothing more is written, the rest
   of the file is still validated (so the report lists every bad row), and the chunks
   written before are rolled back;
5. bulk-create the new records, bulk-update the changed ones (history rows say
   door=import), create or re-point their citations, and post the stock ledger of every
   written record with one `records_post_ledger` call per model, from the instances just
   written. Estimates are marked stale in the same transaction and refreshed by a Celery
   task after the commit.

On PostgreSQL the new records, citations, history rows and ledger rows are written with
COPY (`inventory.services.tracked_bulk_create` / `rows_insert`); elsewhere with
bulk_create and executemany. Either way a 25,000-row file costs a few dozen statements
per chunk.

A dry run does all of it inside a transaction that is rolled back, so its report is exact.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, ClassVar

from django.db import transaction
from django.utils import timezone

from core.history import history_door
from core.services import Actor
from transfers.importers.drafts import FileRefused, RecordDraft, RowRefused
from transfers.importers.parsing import check_header, check_rows_complete, decode, read_csv
from transfers.importers.report import ImportReport
from transfers.importers.resolve import PartyIndex, SystemIndex
from transfers.importers.writer import _Writer

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

    def read(self, stream: BinaryIO, report: ImportReport) -> Iterator[RecordDraft]:
        """The drafts of the file open as `stream`. By default the file is read and
        decoded whole, then drafted (`drafts`); formats whose files grow large (the native
        JSON export) override this to draft as they read."""
        yield from self.drafts(self.decode(stream.read()), report)

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


# Drafts are validated and written this many at a time: memory stays flat in the size of
# the file (a chunk's drafts, instances and rows are freed before the next is read).
CHUNK = 5000


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """An import creates hundreds of thousands of objects, almost none of them in
    reference cycles: the cyclic garbage collector's automatic passes over them cost a
    quarter of the time of a 100,000-row file and find nothing. They are paused for the
    import, which collects once per chunk instead (`_chunks`); they resume afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_import(
    importer: Importer,
    data: bytes | BinaryIO,
    *,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    actor: Actor = None,
) -> ImportReport:
    """Import one file, given as bytes or as a binary file open for reading (read as a
    stream: the file is never held in memory whole by the formats that draft as they
    read); see the module docstring. Never half-writes."""
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    with _collector_paused():
        return _run_import(
            importer, stream, dry_run=dry_run, skip_bad_rows=skip_bad_rows, actor=actor
        )


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while block := stream.read(1 << 16):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


def _chunks(drafts: Iterator[RecordDraft]) -> Iterator[list[RecordDraft]]:
    while chunk := list(itertools.islice(drafts, CHUNK)):
        yield chunk
        del chunk
        gc.collect(0)  # the chunk's young objects only: what it left is freed by then


def _run_import(
    importer: Importer,
    stream: BinaryIO,
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
    importer.sha256 = _sha256(stream)
    try:
        with transaction.atomic(), history_door("import"):
            writer = _Writer(importer, report, actor=actor)
            clock = time.perf_counter()
            drafts = _deduplicate(importer.read(stream, report), report)
            chunks = 0
            for chunk in _chunks(drafts):
                clock = report.lap("read and draft", clock)
                writer.write(chunk)
                chunks += 1
                clock = time.perf_counter()
            if not chunks:
                writer.write([])  # a file of no records may still describe parties, systems
            writer.finish()
            if dry_run or (report.errors and not skip_bad_rows):
                raise _Rollback
            report.written = True
    except FileRefused as exc:
        # found while reading (the file is read as it is written): all of it rolled back
        _forget_writes(report)
        report.file_error = str(exc)
        report.written = False
    except _Rollback:
        if report.errors and not skip_bad_rows:
            _forget_writes(report)  # the chunks before the first refusal, rolled back
        report.written = False
    report.seconds = (timezone.now() - started).total_seconds()
    return report


def _forget_writes(report: ImportReport) -> None:
    """A refused import writes nothing: its report counts nothing written either."""
    for counter in (report.created, report.updated, report.unchanged):
        counter.clear()
    report.parties_created = []
    report.systems_created = report.names_unresolved = report.proposals_created = 0
    report.sources_created = report.citations_created = report.citations_updated = 0
    report.movements = {}


def _signature(draft: RecordDraft) -> int:
    """What a row says, as a hash: rows repeated word for word have the same one (a
    64-bit hash of the values an importer made: the same importer lists them in the same
    order)."""
    return hash(
        (
            tuple(draft.values.items()),
            tuple(draft.parties.items()),
            draft.system.name,
            tuple((c.source.key, c.values()) for c in draft.citations),
        )
    )


def _deduplicate(drafts: Iterable[RecordDraft], report: ImportReport) -> Iterator[RecordDraft]:
    """Rows repeated word for word (Oryx's list has some) are imported once; a later row
    claiming the key of an earlier one with different values is refused. Per key only two
    numbers are kept (a 64-bit hash of the key, the first line and the row's hash packed in
    one int), not the row: memory grows by about 150 bytes a record."""
    seen: dict[int, int] = {}
    mask = (1 << 64) - 1
    for draft in drafts:
        if not draft.external_id:
            yield draft
            continue
        key = hash((draft.model._meta.label, draft.external_id)) & mask
        first = seen.get(key)
        signature = _signature(draft) & mask
        if first is None:
            seen[key] = (draft.line << 64) | signature
            yield draft
        elif first & mask == signature:
            report.duplicates += 1
        else:
            report.refuse(
                draft.line,
                "id",
                draft.external_id,
                f"the same key as line {first >> 64} with different values",
            )
