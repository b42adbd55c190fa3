"""manage.py import <format> <file> [--dry-run] [--skip-bad-rows] [--release NAME]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from transfers.importers import IMPORTERS, import_file


class Command(BaseCommand):
    help = (
        "Import a dataset file: "
        + "; ".join(f"{name} ({cls.description})" for name, cls in IMPORTERS.items())
        + ". All or nothing unless --skip-bad-rows; re-importing the same file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("format", choices=sorted(IMPORTERS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count everything, write nothing."
        )
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the good rows and report the bad ones (default: a bad row stops all).",
        )
        parser.add_argument(
            "--release",
            default="",
            help="Name of the dataset release (files that do not state one: Oryx, Kiel); "
            "default: the file's SHA-256.",
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        with path.open("rb") as stream:  # read as a stream by the formats that can
            report = import_file(
                options["format"],
                stream,
                filename=path.name,
                release=options["release"],
                dry_run=options["dry_run"],
                skip_bad_rows=options["skip_bad_rows"],
            )
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError("import refused: nothing was written")
