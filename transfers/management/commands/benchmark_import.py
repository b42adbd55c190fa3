"""manage.py benchmark_import [--rows 100000] [--format sipri ...] [--keep]

For each importer: write a synthetic file of that format (transfers/importers/synthetic.py),
import it into the configured database, and print rows per second, the time of each phase,
and the ratio to PostgreSQL's COPY of the same rows (the raw cells of the file copied into
an unlogged table of text columns: the floor of any import). Everything the benchmark
writes is rolled back unless --keep. Run it against PostgreSQL (DATABASE_URL) for figures
worth comparing; on SQLite the COPY column is left out.
"""

from __future__ import annotations

import csv
import io
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from transfers.importers import IMPORTERS, import_file
from transfers.importers.synthetic import GENERATORS


class _Rollback(Exception):
    pass


def copy_seconds(data: bytes, fmt: str) -> float | None:
    """Seconds PostgreSQL's COPY takes to load the file's rows as text columns."""
    if connection.vendor != "postgresql":
        return None
    encoding = IMPORTERS[fmt].encoding
    text = data.decode(encoding)
    lines = text.replace("\r\n", "\n").split("\n")
    if fmt in ("sipri", "sipri-classic"):
        lines = lines[11:]
    if fmt == "sipri":
        lines = [line[:-1] if line.endswith(";") else line for line in lines]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header, body = rows[0], [r for r in rows[1:] if r]
    width = len(header)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in body:
        writer.writerow((row + [""] * width)[:width])
    payload = buffer.getvalue()
    columns = ", ".join(f"c{i} text" for i in range(width))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_copy ({columns}) ON COMMIT DROP")
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(payload)
        return time.perf_counter() - started


class Command(BaseCommand):
    help = "Benchmark each importer on a synthetic file; prints rows/s and the ratio to COPY."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--format", action="append", choices=sorted(GENERATORS))
        parser.add_argument("--keep", action="store_true", help="Commit what is imported.")

    def handle(self, *args, **options):
        formats = options["format"] or list(GENERATORS)
        rows = options["rows"]
        self.stdout.write(
            f"benchmark_import: {rows:,} synthetic rows per format, database {connection.vendor}"
        )
        self.stdout.write(
            f"{'format':<14} {'rows':>8} {'records':>8} {'seconds':>8} {'rows/s':>9} "
            f"{'COPY s':>7} {'× COPY':>7}  phases"
        )
        for fmt in formats:
            data = GENERATORS[fmt](rows)
            copy = copy_seconds(data, fmt)
            try:
                with transaction.atomic():
                    started = time.perf_counter()
                    report = import_file(fmt, data, filename=f"synthetic-{fmt}")
                    seconds = time.perf_counter() - started
                    if not options["keep"]:
                        raise _Rollback
            except _Rollback:
                pass
            if not report.ok:
                self.stdout.write(f"{fmt}: refused\n{report.summary()}")
                continue
            records = sum(report.totals()[k] for k in ("created", "updated", "unchanged"))
            ratio = f"{seconds / copy:7.0f}" if copy else "      –"
            copy_text = f"{copy:7.2f}" if copy else "      –"
            phases = ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items())
            self.stdout.write(
                f"{fmt:<14} {report.rows:>8,} {records:>8,} {seconds:>8.1f} "
                f"{report.rows / seconds:>9,.0f} {copy_text} {ratio}  {phases}"
            )
