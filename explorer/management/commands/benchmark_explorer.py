"""Benchmark of the explorer's pages on PostgreSQL, in a throwaway database.

    python manage.py benchmark_explorer [--records 1000000] [--holders 250]
        [--systems 2000] [--runs 5] [--keep] [--reuse]

Builds the estimate benchmark's synthetic data set (`benchmark_estimates`: transfers and
expenditures with a citation each and their ledger rows, set-based SQL), refreshes every
estimate, then for the busiest party's page, a family's system page, the busiest flow and
one "why this number" (and, for reference, a search that finds nothing: what every page
costs whatever its data) prints the median of `--runs` runs of:

- the page: GET through Django's test client, the whole stack (middleware, access, the
  view, the template), with the page cache emptied before each run;
- the floor: the page's own queries (captured from one run) executed bare with a cursor,
  their rows fetched — what the database must do for the page, with no Python around it;
- the cached page: the same GET served from the cache;

and the ratio page / floor (target: ≤ 2× and < 300 ms; cached < 10 ms).
"""

from __future__ import annotations

import statistics
import time

from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from transfers.management.commands.benchmark_estimates import Command as EstimatesBenchmark


def _median_ms(action, runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


class Command(EstimatesBenchmark):
    help = "Benchmark the explorer's pages against the floor of their own queries (PostgreSQL)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="measure the data set that a --keep (or --reuse) run left in the benchmark "
            "database, with the current code (migrated first); build it when it is empty; "
            "keep it",
        )

    def _run(self, options, bench_name: str) -> None:
        from django.db.models import Count

        from stock.models import LedgerEntry, StockEstimate
        from stock.refresh import estimates_refresh_all

        runs = options["runs"]
        if options["reuse"] and LedgerEntry.objects.exists():
            self.stdout.write(f"Reusing {LedgerEntry.objects.count():,} ledger rows")
        else:
            self._setup_catalogue(options)
            self.stdout.write(f"Building {options['records']:,} records and their ledger …")
            took = self._build(options, 1, options["records"])
            count = LedgerEntry.objects.count()
            self.stdout.write(f"  built in {took:.1f} s: {count:,} ledger rows")
        estimates_refresh_all(series=False)
        self.stdout.write(f"  {StockEstimate.objects.count():,} estimates")
        busiest = (
            LedgerEntry.objects.filter(kind="received")
            .values("holder_id", "holder__code")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .first()
        )
        party = busiest["holder__code"]
        family = (
            StockEstimate.objects.filter(scope="family", holder_id=busiest["holder_id"])
            .order_by("-record_count")
            .first()
        )
        sender = (
            LedgerEntry.objects.filter(kind="sent")
            .values("holder__code")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .first()["holder__code"]
        )
        pages = {
            "party": f"/explore/parties/{party}/",
            "system": f"/explore/systems/{family.system_id}/",
            "flow": f"/explore/flows/{sender}/{party}/",
            "explain": f"/explore/explain/{party}/{family.system_id}/?scope=family",
            "party known_at": f"/explore/parties/{party}/?known_at=2100-01-01",
            # the stack's fixed cost: a page whose two queries find nothing
            "search, no match": "/explore/search/?q=no-such-party-or-system",
        }
        client = Client()
        self.stdout.write(
            f"{'page':<16}{'queries':>8}{'page ms':>10}{'floor ms':>10}{'ratio':>8}"
            f"{'cached ms':>11}"
        )
        with override_settings(STOCKPILE_PUBLIC=True, STOCKPILE_EXPLORER_THROTTLE="1000000/second"):
            for name, url in pages.items():
                cache.clear()
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(url)
                if response.status_code != 200:
                    self.stderr.write(f"{url}: {response.status_code}")
                    continue
                statements = [q["sql"] for q in captured.captured_queries]

                def page(url=url):
                    cache.clear()
                    client.get(url)

                def floor(statements=statements):
                    with connection.cursor() as cursor:
                        for sql in statements:
                            cursor.execute(sql)
                            if cursor.description:
                                cursor.fetchall()

                page(), floor()  # warm
                page_ms = _median_ms(page, runs)
                floor_ms = _median_ms(floor, runs)
                client.get(url)
                cached_ms = _median_ms(lambda url=url: client.get(url), runs)
                self.stdout.write(
                    f"{name:<16}{len(statements):>8}{page_ms:>10.1f}{floor_ms:>10.1f}"
                    f"{page_ms / floor_ms if floor_ms else 0:>8.2f}{cached_ms:>11.2f}"
                )
