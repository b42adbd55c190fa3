"""Importers of the datasets analysts have on their disks, and of Stockpile's own exports.

`IMPORTERS` maps a format name (as typed after `manage.py import`) to its importer class;
`import_file` runs one. See docs/importing.md for the mapping of each format.
"""

from __future__ import annotations

from typing import BinaryIO

from transfers.importers.base import run_import
from transfers.importers.drafts import FileRefused, RowError
from transfers.importers.holdings import HoldingsImporter
from transfers.importers.kiel import KielImporter
from transfers.importers.native import NativeCsvImporter, NativeJsonImporter
from transfers.importers.oryx import OryxLossesImporter, OryxSuppliedImporter
from transfers.importers.report import ImportReport
from transfers.importers.sipri import Sipri2026Importer, SipriClassicImporter

IMPORTERS = {
    cls.name: cls
    for cls in (
        Sipri2026Importer,
        SipriClassicImporter,
        OryxSuppliedImporter,
        OryxLossesImporter,
        KielImporter,
        HoldingsImporter,
        NativeJsonImporter,
        NativeCsvImporter,
    )
}


def import_file(
    format_name: str,
    data: bytes | BinaryIO,
    *,
    filename: str = "",
    release: str = "",
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    actor=None,
) -> ImportReport:
    """Import one file (its bytes, or a binary file open for reading) in the named format;
    returns the report."""
    try:
        importer_class = IMPORTERS[format_name]
    except KeyError:
        raise ValueError(
            f"unknown format {format_name!r}; use one of {', '.join(sorted(IMPORTERS))}"
        ) from None
    importer = importer_class(release=release, filename=filename)
    return run_import(importer, data, dry_run=dry_run, skip_bad_rows=skip_bad_rows, actor=actor)


__all__ = ["IMPORTERS", "FileRefused", "ImportReport", "RowError", "import_file", "run_import"]
