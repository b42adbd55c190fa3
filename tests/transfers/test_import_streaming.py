"""Imports read and write a chunk of records at a time (memory flat in the size of the
file): the result is the one of a single batch, a refusal anywhere still writes nothing,
and the native JSON export is read as a stream."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from transfers.exporters import export_json
from transfers.importers import base, import_file
from transfers.models import Pledge, Source, Transfer

from . import import_fixtures as fx
from .test_export_roundtrip import comparable, hand_entered, wipe

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported():
    """The records of the four samples and some entered by hand, exported, then wiped."""
    hand_entered()
    for fmt, data in [
        ("sipri", fx.sipri_2026()),
        ("oryx-supplied", fx.oryx_supplied()),
        ("kiel", fx.kiel()),
    ]:
        assert import_file(fmt, data).written
    before = comparable()
    data = export_json()
    wipe()
    return before, data


class _OneWay(io.RawIOBase):
    """A file that can be read (and rewound) but not held: counts the bytes read at once."""

    def __init__(self, data: bytes) -> None:
        self.inner, self.largest = io.BytesIO(data), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.inner.seek(offset, whence)

    def readinto(self, buffer) -> int:
        chunk = self.inner.read(min(len(buffer), 1 << 16))
        self.largest = max(self.largest, len(chunk))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def read(self, size: int = -1) -> bytes:
        chunk = self.inner.read(size)
        self.largest = max(self.largest, len(chunk))
        return chunk


def test_a_chunked_import_equals_a_single_batch(exported, monkeypatch):
    before, data = exported
    monkeypatch.setattr(base, "CHUNK", 3)  # pledges and the transfers fulfilling them apart
    stream = _OneWay(data + b" " * 300_000)  # larger than any one read
    report = import_file("stockpile", stream)
    assert report.written, report.summary()
    assert comparable() == before
    # the native JSON is read as a stream, never whole
    assert stream.largest <= 1 << 16
    fulfilled = Transfer.objects.filter(pledge__isnull=False)
    assert fulfilled.count() == 1 and fulfilled.get().pledge.status != "announced"
    again = import_file("stockpile", data)
    assert again.totals()["created"] == again.totals()["updated"] == 0
    assert again.totals()["unchanged"] == report.totals()["created"]


def test_a_bad_row_in_a_later_chunk_writes_nothing_and_counts_nothing(exported, monkeypatch):
    _before, data = exported
    document = json.loads(data)
    rows = document["records"]["transfer"]
    rows[-1]["date"] = "the day after"
    monkeypatch.setattr(base, "CHUNK", 2)
    report = import_file("stockpile", json.dumps(document).encode())
    assert not report.written and not report.ok
    assert [(e.field, e.value) for e in report.errors] == [("date", "the day after")]
    assert report.totals()["created"] == 0 and report.sources_created == 0
    assert not Transfer.objects.exists() and not Pledge.objects.exists()
    assert not Source.objects.exists()
    # with --skip-bad-rows, every other row of every chunk is written
    skipped = import_file("stockpile", json.dumps(document).encode(), skip_bad_rows=True)
    assert skipped.written and skipped.totals()["refused"] == 1
    assert Transfer.objects.count() == len(rows) - 1


def test_a_truncated_export_is_refused_after_chunks_were_written(exported, monkeypatch):
    _before, data = exported
    monkeypatch.setattr(base, "CHUNK", 2)
    report = import_file("stockpile", data[: len(data) * 3 // 4])
    assert not report.written and "truncated" in report.file_error
    assert report.totals()["created"] == 0
    assert not Transfer.objects.exists() and not Source.objects.exists()


def test_a_document_listing_its_records_first_is_read_whole(exported):
    before, data = exported
    document = json.loads(data)
    reordered = {"records": document.pop("records"), **document}
    report = import_file("stockpile", json.dumps(reordered).encode())
    assert report.written, report.summary()
    assert comparable() == before


def test_the_import_command_reads_the_file_as_a_stream(exported, tmp_path):
    before, data = exported
    path = tmp_path / "stockpile.json"
    path.write_bytes(data)
    out = io.StringIO()
    call_command("import", "stockpile", str(path), stdout=out)
    assert "created" in out.getvalue()
    assert comparable() == before
