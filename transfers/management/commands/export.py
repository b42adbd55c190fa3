"""manage.py export [--format json|csv|xlsx] [--type holding ...] [-o FILE]"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from transfers.exporters import EXPORTERS, RECORD_TYPES, WRITERS


class Command(BaseCommand):
    help = (
        "Export the records with their citations and sources (JSON re-imports with "
        "`manage.py import stockpile`, CSV with `manage.py import stockpile-csv`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(EXPORTERS), default="json")  # = WRITERS
        parser.add_argument(
            "--type",
            action="append",
            choices=sorted(RECORD_TYPES),
            help="Record type to export (repeatable); default: all of them.",
        )
        parser.add_argument("-o", "--output", type=Path, help="File to write; default: stdout.")

    def handle(self, *args, **options):
        write = WRITERS[options["format"]]
        types = options["type"] or list(RECORD_TYPES)
        querysets = {RECORD_TYPES[name]: None for name in types}
        # streamed: a chunk of records at a time, memory flat in the size of the data
        if options["output"]:
            with options["output"].open("wb") as out:
                write(out, querysets)
            size = options["output"].stat().st_size
            self.stderr.write(f"Wrote {size:,} bytes to {options['output']}")
        else:
            write(sys.stdout.buffer, querysets)
            sys.stdout.flush()
