"""Benchmark of the admin and "why this number" at scale, on PostgreSQL, in a throwaway
database:

    python manage.py benchmark_admin [--records 1000000] [--runs 3] [--keep] [--reuse]

Builds the data set of `benchmark_estimates` (transfers and expenditures with a citation
each, their ledger rows; `--records` of them), refreshes every estimate, then requests, as a
superuser through Django's test client (the whole server side: middleware, admin, templates),
every changelist of the admin site and the change page of one object of each (the newest
record; for countries, systems and estimates the biggest holder × system: the pair with the
most ledger rows, whose estimate page holds "why this number" and its monthly points, which
are computed for it first). It prints, for each page, the median server time of `--runs`
requests, its queries, its slowest query, and whether any query counted a table of more
than 100,000 rows (`COUNT(*)` without a LIMIT), against the target of 300 ms a page; and
the load average before and after.

The data lives in `<name>_bench` (as benchmark_estimates); `--keep` keeps it and `--reuse`
measures a database kept by an earlier run without building it again.
"""

from __future__ import annotations

import re
import statistics
import time

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import override_settings
from django.urls import NoReverseMatch, reverse

from transfers.management.commands.benchmark_estimates import Command as EstimatesBenchmark

TARGET_MS = 300
BIG_TABLE = 100_000
COUNT_RE = re.compile(r"SELECT COUNT\(\*\)", re.IGNORECASE)


class Command(BaseCommand):
    help = "Time every admin changelist and change page at scale (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--holders", type=int, default=250)
        parser.add_argument("--systems", type=int, default=2000)
        parser.add_argument("--records", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
        parser.add_argument(
            "--reuse", action="store_true", help="measure the database an earlier --keep kept"
        )
        parser.add_argument("--only", default="", help="only the pages whose URL has this text")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("benchmark_admin needs PostgreSQL: set DATABASE_URL=postgres://…")
        creation = connection.creation
        original = settings.DATABASES["default"]["NAME"]
        bench = f"{original}_bench"
        connection.settings_dict.setdefault("TEST", {}).update(
            {"NAME": bench, "CHARSET": None, "TEMPLATE": None}
        )
        if options["reuse"]:
            connection.close()
            settings.DATABASES["default"]["NAME"] = bench
            connection.settings_dict["NAME"] = bench
        else:
            self.stdout.write(f"Creating the benchmark database {bench} …")
            creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            if not options["reuse"]:
                self._build(options)
            self._measure(options)
        finally:
            if not options["keep"] and not options["reuse"]:
                creation.destroy_test_db(original, verbosity=0)

    def _build(self, options) -> None:
        from stock.refresh import estimates_refresh_all

        builder = EstimatesBenchmark(stdout=self.stdout, stderr=self.stderr)
        builder._setup_catalogue(options)
        self.stdout.write(f"Building {options['records']:,} records with their ledger …")
        took = builder._build(options, 1, options["records"])
        self.stdout.write(f"  built in {took:.1f} s; refreshing every estimate …")
        started = time.perf_counter()
        estimates_refresh_all(series=False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(f"  refreshed in {time.perf_counter() - started:.1f} s")

    # -- the pages ------------------------------------------------------------------------

    def _pages(self) -> list[str]:
        from stock.models import LedgerEntry, StockEstimate

        biggest = (
            LedgerEntry.objects.values("holder_id", "system_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        special = {}
        if biggest:
            from stock.refresh import estimates_refresh_pairs

            # its monthly points (the full refresh stores none): its estimate page shows
            # them, as in use
            estimates_refresh_pairs([(biggest["holder_id"], biggest["system_id"])])
            estimate = StockEstimate.objects.filter(
                holder_id=biggest["holder_id"], system_id=biggest["system_id"], scope="system"
            ).first()
            special = {"country": biggest["holder_id"], "weaponsystem": biggest["system_id"]}
            if estimate:
                special["stockestimate"] = estimate.pk
        pages = []
        for model, model_admin in sorted(
            admin.site._registry.items(), key=lambda item: item[0]._meta.label
        ):
            info = (model._meta.app_label, model._meta.model_name)
            try:
                pages.append(reverse("admin:{}_{}_changelist".format(*info)))
            except NoReverseMatch:
                continue
            pk = special.get(model._meta.model_name)
            if pk is None:
                pk = (
                    model_admin.get_queryset(_Request())
                    .order_by("-pk")
                    .values_list("pk", flat=True)
                    .first()
                )
            if pk is not None:
                pages.append(reverse("admin:{}_{}_change".format(*info), args=[pk]))
        return pages

    def _measure(self, options) -> None:
        from transfers.models import Transfer

        self.stdout.write(
            f"{Transfer.objects.count():,} transfers; load average "
            f"{' '.join(f'{x:.1f}' for x in _load())}"
        )
        user, _ = get_user_model().objects.get_or_create(
            username="benchmark-admin", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        big = _big_tables()
        worst = 0.0
        over = []
        with override_settings(DEBUG=False):
            pages = [p for p in self._pages() if options["only"] in p]
            self.stdout.write(f"{'page':<60} {'median':>8} {'queries':>7}  slowest query")
            for url in pages:
                timings, queries = [], []
                for run in range(options["runs"] + 1):
                    log: list[tuple[float, str]] = []
                    started = time.perf_counter()
                    with connection.execute_wrapper(_Recorder(log)):
                        response = client.get(url)
                    took = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        self.stdout.write(f"{url}: HTTP {response.status_code}")
                        break
                    if run:  # the first request warms the caches
                        timings.append(took)
                        queries = log
                if not timings:
                    continue
                median = statistics.median(timings)
                worst = max(worst, median)
                slowest = max(queries, default=(0.0, ""))
                counts = [
                    sql for _t, sql in queries if COUNT_RE.search(sql) and _counts_big(sql, big)
                ]
                flag = "  COUNT(*) of a big table!" if counts else ""
                mark = " ✘" if median > TARGET_MS else ""
                self.stdout.write(
                    f"{url:<60} {median:>6.0f}ms{mark} {len(queries):>5}  "
                    f"{slowest[0]:.0f} ms: {slowest[1][:90]}{flag}"
                )
                if median > TARGET_MS:
                    over.append((median, url, slowest[1]))
        self.stdout.write(
            f"slowest page: {worst:.0f} ms (target: none above {TARGET_MS} ms); load average "
            f"{' '.join(f'{x:.1f}' for x in _load())}"
        )
        for median, url, sql in sorted(over, reverse=True):
            self.stdout.write(f"  over: {url} {median:.0f} ms; slowest query:\n    {sql[:2000]}")


class _Request:
    """Enough of a request for a ModelAdmin's get_queryset (no per-user narrowing here)."""

    class user:
        is_superuser = True


class _Recorder:
    def __init__(self, log: list) -> None:
        self.log = log

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.log.append(((time.perf_counter() - started) * 1000, sql))


def _big_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > %s", [BIG_TABLE]
        )
        return {row[0] for row in cursor.fetchall()}


def _counts_big(sql: str, big: set[str]) -> bool:
    """A COUNT(*) over one of the big tables with no LIMIT to bound it."""
    return "LIMIT" not in sql.upper() and any(f'"{table}"' in sql for table in big)


def _load() -> tuple[float, ...]:
    import os

    return os.getloadavg()
