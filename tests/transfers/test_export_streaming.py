"""The streamed exports (a chunk of records at a time) write exactly what the in-memory
exports wrote: the JSON document dumped whole, the CSV over every row, the same workbook."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.management import call_command

from transfers.exporters import (
    RECORD_TYPES,
    _cell,
    csv_columns,
    export_document,
    export_rows,
    write_csv,
    write_json,
    write_xlsx,
)
from transfers.importers import import_file
from transfers.models import Transfer

from . import import_fixtures as fx
from .test_export_roundtrip import hand_entered

pytestmark = pytest.mark.django_db

STAMP = re.compile(rb'"exported_at": "[^"]+"')


@pytest.fixture
def records():
    hand_entered()
    for fmt, data in [
        ("sipri", fx.sipri_2026()),
        ("oryx-supplied", fx.oryx_supplied()),
        ("oryx-losses", fx.oryx_losses()),
        ("kiel", fx.kiel()),
    ]:
        assert import_file(fmt, data).written


def _whole_json(querysets=None) -> bytes:
    """What the export wrote before it streamed."""
    document = export_document(querysets)
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _whole_csv(querysets=None) -> bytes:
    rows = export_rows(querysets)
    buffer = io.StringIO(newline="")
    columns = csv_columns(rows) or ["record_type"]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")  # RFC 4180
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(row.get(name)) for name in columns})
    return buffer.getvalue().encode("utf-8")


def _streamed(write, querysets=None) -> bytes:
    out = io.BytesIO()
    write(out, querysets)
    return out.getvalue()


SUBSETS = [
    None,
    {Transfer: None},
    {Transfer: Transfer.objects.filter(donor__code="US"), RECORD_TYPES["holding"]: None},
    {Transfer: Transfer.objects.none()},
]


@pytest.mark.parametrize("subset", range(len(SUBSETS)))
def test_the_streamed_json_and_csv_are_byte_for_byte_the_whole_ones(records, subset):
    querysets = SUBSETS[subset]
    streamed = _streamed(write_json, querysets)
    assert STAMP.sub(b"", streamed) == STAMP.sub(b"", _whole_json(querysets))
    json.loads(streamed)  # and it is JSON
    assert _streamed(write_csv, querysets) == _whole_csv(querysets)


def test_the_streamed_json_of_an_empty_database_is_the_whole_one():
    assert STAMP.sub(b"", _streamed(write_json)) == STAMP.sub(b"", _whole_json())
    assert _streamed(write_csv) == _whole_csv() == b"record_type\r\n"


def test_the_streamed_workbook_has_the_same_sheets_and_cells(records):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(_streamed(write_xlsx)))
    rows = export_rows()
    assert book.sheetnames == list(RECORD_TYPES)
    for name in RECORD_TYPES:
        mine = [row for row in rows if row["record_type"] == name]
        columns = csv_columns(mine) or ["record_type"]
        expected = [columns] + [[_cell(row.get(c)) for c in columns] for row in mine]
        got = [[cell if cell is not None else "" for cell in row] for row in book[name].values]
        assert got == expected, name
    only = load_workbook(io.BytesIO(_streamed(write_xlsx, {Transfer: None})))
    assert only.sheetnames == ["transfer"]


def test_the_export_command_streams_to_the_file_it_is_given(records, tmp_path):
    out = tmp_path / "all.json"
    call_command("export", "-o", str(out), stderr=io.StringIO())
    assert STAMP.sub(b"", out.read_bytes()) == STAMP.sub(b"", _whole_json())
