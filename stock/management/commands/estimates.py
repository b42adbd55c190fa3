"""manage.py estimates refresh|rebuild|status: the stock estimates without a worker.

- `refresh`: recompute the pairs marked stale (what a worker would have done after the
  writes), a batch at a time; `--all` recomputes every pair instead.
- `rebuild`: what the nightly task does — re-post the ledger from the records, recompute
  every estimate, rewrite the series.
- `status`: how many estimates, points and stale pairs there are, and how old the oldest
  mark is.

Long runs show a progress bar on a terminal (a line per tenth elsewhere); `--no-progress`
turns it off.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Max, Min
from django.utils import timezone

from core.history import Door, history_door


class Progress:
    """A progress bar on a terminal; elsewhere a line at each tenth (scripts' logs stay short)."""

    def __init__(self, stream, label: str, total: int, *, enabled: bool = True):
        self.stream, self.label, self.total = stream, label, max(total, 0)
        self.done = 0
        self.enabled = enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.reported = -1

    def __call__(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        share = self.done / self.total if self.total else 1.0
        if self.tty:
            width = 30
            filled = min(width, int(width * share))
            self.stream.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                f"{self.done:,}/{self.total:,} {time.monotonic() - self.started:.0f} s"
            )
            self.stream.flush()
        elif int(share * 10) > self.reported:
            self.reported = int(share * 10)
            self.stream.write(f"{self.label}: {self.done:,}/{self.total:,}\n")

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = (
        "Refresh, rebuild or show the stock estimates in this process (no worker needed): "
        "refresh [--all] | rebuild | status."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["refresh", "rebuild", "status"])
        parser.add_argument(
            "--all",
            action="store_true",
            help="refresh: every pair with ledger rows or an estimate, not only stale ones.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=2000,
            help="refresh: pairs per transaction (default 2000).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress output.")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError(f"--batch-size must be at least 1 (got {options['batch_size']})")
        started = time.monotonic()
        with history_door(Door.TASK):
            result = getattr(self, f"_{options['action']}")(options)
        if result is not None:
            self.stdout.write(f"{result} in {time.monotonic() - started:.1f} s")

    def _progress(self, options, label: str, total: int) -> Progress:
        stream = self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr
        return Progress(stream, label, total, enabled=not options["no_progress"])

    def _refresh(self, options) -> str:
        from stock.models import LedgerEntry, StaleEstimate, StockEstimate
        from stock.refresh import estimates_refresh_pairs

        if options["all"]:
            pairs = set(
                LedgerEntry.objects.filter(is_cancelled=False)
                .values_list("holder_id", "system_id")
                .distinct()
            )
            pairs |= set(
                StockEstimate.objects.filter(scope="system").values_list("holder_id", "system_id")
            )
        else:
            pairs = set(StaleEstimate.objects.values_list("holder_id", "system_id"))
        pairs = sorted(pairs)  # by holder: a holder's families are summed in one batch mostly
        size = options["batch_size"]
        progress = self._progress(options, "pairs", len(pairs))
        written = 0
        try:
            for start in range(0, len(pairs), size):
                chunk = pairs[start : start + size]
                written += estimates_refresh_pairs(chunk)["estimates"]
                progress(len(chunk))
        finally:
            progress.close()
        return f"refreshed {len(pairs):,} pair(s), {written:,} estimate(s) written"

    def _rebuild(self, options) -> str:
        from stock.ledger import ledger_rebuild, ledger_record_count, refresh_held
        from stock.models import LedgerEntry
        from stock.refresh import estimates_refresh_all
        from stock.series import series_rebuild_all

        with refresh_held():  # no task per re-posted chunk: everything is recomputed below
            progress = self._progress(options, "records", ledger_record_count())
            try:
                ledger = ledger_rebuild(progress=progress)
            finally:
                progress.close()
            estimates = estimates_refresh_all(series=False)  # every series below
            pairs = (
                LedgerEntry.objects.filter(is_cancelled=False)
                .values_list("holder_id", "system_id")
                .distinct()
                .count()
            )
            progress = self._progress(options, "series", pairs)
            try:
                points = series_rebuild_all(progress=progress)
            finally:
                progress.close()
        return (
            f"rebuilt: {ledger['origins']:,} record(s) re-posted, "
            f"{estimates['estimates']:,} estimate(s) written, {points:,} point(s)"
        )

    def _status(self, options) -> None:
        from stock.models import EstimatePoint, LedgerEntry, StaleEstimate, StockEstimate

        by_scope = dict(
            StockEstimate.objects.values_list("scope").annotate(n=Count("id")).order_by()
        )
        last = StockEstimate.objects.aggregate(last=Max("computed_at"))["last"]
        stale = StaleEstimate.objects.aggregate(n=Count("id"), oldest=Min("marked_at"))
        lines = [
            f"ledger rows: {LedgerEntry.objects.filter(is_cancelled=False).count():,} "
            f"(cancelled: {LedgerEntry.objects.filter(is_cancelled=True).count():,})",
            f"estimates: {by_scope.get('system', 0):,} system, {by_scope.get('family', 0):,} "
            f"family; inconsistent: "
            f"{StockEstimate.objects.filter(inconsistent=True).count():,}",
            f"series points: {EstimatePoint.objects.count():,}",
            f"last change: {last.isoformat(timespec='seconds') if last else 'never'}",
        ]
        if stale["n"]:
            age = (timezone.now() - stale["oldest"]).total_seconds()
            lines.append(
                f"stale pairs: {stale['n']:,}, the oldest marked {age:.0f} s ago "
                "(run `manage.py estimates refresh`, or start a worker)"
            )
        else:
            lines.append("stale pairs: 0 (every estimate is fresh)")
        self.stdout.write("\n".join(lines))
        return None
