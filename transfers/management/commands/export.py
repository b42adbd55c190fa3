"""manage.py export [--format json|csv|xlsx] [--type holding ...] [-o FILE]"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from transfers.exporters import EXPORTERS, RECORD_TYPES


class Command(BaseCommand):
    help = (
        "Export the records with their citations and sources (JSON re-imports with "
        "`manage.py import stockpile`, CSV with `manage.py import stockpile-csv`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(EXPORTERS), default="json")
        parser.add_argument(
            "--type",
            action="append",
            choices=sorted(RECORD_TYPES),
            help="Record type to export (repeatable); default: all of them.",
        )
        parser.add_argument("-o", "--output", type=Path, help="File to write; default: stdout.")

    def handle(self, *args, **options):
        export, _, _ = EXPORTERS[options["format"]]
        types = options["type"] or list(RECORD_TYPES)
        data = export({RECORD_TYPES[name]: None for name in types})
        if options["output"]:
            options["output"].write_bytes(data)
            self.stderr.write(f"Wrote {len(data):,} bytes to {options['output']}")
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
