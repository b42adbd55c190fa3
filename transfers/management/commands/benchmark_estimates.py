"""Benchmark of the estimate refresh on PostgreSQL, in a throwaway database.

    python manage.py benchmark_estimates [--holders 250] [--systems 2000]
        [--records 1000000] [--runs 5] [--no-grow] [--no-worker]

Builds a synthetic data set with set-based SQL (transfers and expenditures with one citation
each, baselines for some pairs, and their ledger rows exactly as `transfers.ledger` posts
them; every date is a day, so its interval is that day), then prints, each as the median of `--runs` runs:

- the full refresh (`stock.refresh.estimates_refresh_all`) and its ratio to the floor:
  one hand-written INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE over the same ledger;
- the incremental refresh after one new transfer saved through the service, at the scale S
  and, unless --no-grow, at 10×S;
- the peak memory (VmHWM) of a real Celery worker process running the full refresh task
  (unless --no-worker; needs CELERY_BROKER_URL).

The data lives in a database created for the run (`<name>_bench`) and dropped after it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

LEDGER_SQL = """
INSERT INTO inventory_ledgerentry
  (holder_id, system_id, kind, quantity_low, quantity_high, quantity_text, date, date_precision,
   date_earliest, date_latest,
   via_contract, origin_model, origin_id, origin_label, grade, is_cancelled, posted_at)
SELECT side.holder_id, t.system_id, side.kind, t.quantity_low, t.quantity_high, t.quantity_text,
       t.date, t.date_precision, t.date, t.date, side.kind = 'received' AND t.basis = 'contract',
       'transfers.transfer', t.id, 'Transfer #' || t.id, c.grade, false, now()
FROM transfers_transfer t
JOIN (SELECT transfer_id, MIN(reliability || credibility) AS grade
      FROM transfers_citation WHERE transfer_id IS NOT NULL GROUP BY transfer_id) c
  ON c.transfer_id = t.id
CROSS JOIN LATERAL (VALUES (t.donor_id, 'sent'), (t.recipient_id, 'received'))
  AS side(holder_id, kind)
WHERE t.id > %(after_transfer)s;

INSERT INTO inventory_ledgerentry
  (holder_id, system_id, kind, quantity_low, quantity_high, quantity_text, date, date_precision,
   date_earliest, date_latest,
   via_contract, origin_model, origin_id, origin_label, grade, is_cancelled, posted_at)
SELECT e.holder_id, e.system_id, 'expended', e.quantity_low, e.quantity_high, e.quantity_text,
       e.date, e.date_precision, e.date, e.date, false, 'transfers.expenditure', e.id, 'Expenditure #' || e.id,
       c.grade, false, now()
FROM transfers_expenditure e
JOIN (SELECT expenditure_id, MIN(reliability || credibility) AS grade
      FROM transfers_citation WHERE expenditure_id IS NOT NULL GROUP BY expenditure_id) c
  ON c.expenditure_id = e.id
WHERE e.id > %(after_expenditure)s;
"""

RECORDS_SQL = """
INSERT INTO transfers_transfer
  (quantity_low, quantity_high, quantity_text, date, date_precision, notes, external_id,
   created_at, updated_at, basis, condition, donor_id, recipient_id, system_id)
SELECT q, q + (g %% 3), q::text, DATE '2015-01-01' + (g * 7919 %% 3650)::int, 'day', '',
       'bench:t:' || g, now(), now(), CASE WHEN g %% 5 = 0 THEN 'contract' ELSE 'pledge' END,
       'new', h.donor, h.recipient, s.system
FROM (SELECT g, (1 + g * 31 %% 40)::int AS q FROM generate_series(%(start)s::bigint, %(stop)s) g) n
CROSS JOIN LATERAL (SELECT (%(holders)s)[1 + (g * 13 %% %(nh)s)] AS donor,
                           (%(holders)s)[1 + ((g * 13 + 1 + g %% (%(nh)s - 1)) %% %(nh)s)]
                             AS recipient) h
CROSS JOIN LATERAL (SELECT (%(systems)s)[1 + (g * 17 %% %(ns)s)] AS system) s;

INSERT INTO transfers_expenditure
  (quantity_low, quantity_high, quantity_text, date, date_precision, notes, external_id,
   created_at, updated_at, holder_id, kind, location, system_id)
SELECT 1 + g %% 3, CASE WHEN g %% 11 = 0 THEN NULL ELSE 1 + g %% 3 + g %% 2 END, '',
       DATE '2016-01-01' + (g * 104729 %% 3285)::int, 'day', '', 'bench:e:' || g, now(), now(),
       (%(holders)s)[1 + (g * 7 %% %(nh)s)], 'destroyed', '', (%(systems)s)[1 + (g * 23 %% %(ns)s)]
FROM generate_series(%(start)s::bigint, %(stop_expenditures)s) g;

INSERT INTO transfers_citation
  (excerpt, locator, stance, attribution, reliability, credibility, created_at, source_id,
   transfer_id)
SELECT 'synthetic', '', 'supports', 'dataset', chr((65 + id %% 5)::int), 1 + (id %% 6), now(),
       %(source)s, id
FROM transfers_transfer WHERE external_id LIKE 'bench:t:%%' AND id > %(after_transfer)s;

INSERT INTO transfers_citation
  (excerpt, locator, stance, attribution, reliability, credibility, created_at, source_id,
   expenditure_id)
SELECT 'synthetic', '', 'supports', 'dataset', chr((65 + id %% 5)::int), 1 + (id %% 6), now(),
       %(source)s, id
FROM transfers_expenditure WHERE external_id LIKE 'bench:e:%%' AND id > %(after_expenditure)s;
"""

FLOOR_SQL = """
INSERT INTO bench_floor (holder_id, system_id, received_low, received_high, sent_low,
                         sent_high, expended_low, expended_high, n)
SELECT holder_id, system_id,
       SUM(CASE WHEN kind = 'received' THEN quantity_low ELSE 0 END),
       SUM(CASE WHEN kind = 'received' THEN quantity_high ELSE 0 END),
       SUM(CASE WHEN kind = 'sent' THEN quantity_low ELSE 0 END),
       SUM(CASE WHEN kind = 'sent' THEN quantity_high ELSE 0 END),
       SUM(CASE WHEN kind = 'expended' THEN quantity_low ELSE 0 END),
       SUM(CASE WHEN kind = 'expended' THEN quantity_high ELSE 0 END),
       COUNT(*)
FROM inventory_ledgerentry WHERE is_cancelled = false
GROUP BY holder_id, system_id
ON CONFLICT (holder_id, system_id) DO UPDATE SET
  received_low = excluded.received_low, received_high = excluded.received_high,
  sent_low = excluded.sent_low, sent_high = excluded.sent_high,
  expended_low = excluded.expended_low, expended_high = excluded.expended_high,
  n = excluded.n
"""


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class Command(BaseCommand):
    help = "Benchmark the estimate refresh on a synthetic data set (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--holders", type=int, default=250)
        parser.add_argument("--systems", type=int, default=2000)
        parser.add_argument(
            "--records", type=int, default=1_000_000, help="transfers + expenditures (S)"
        )
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--no-grow", action="store_true", help="skip the 10×S measurement")
        parser.add_argument("--no-worker", action="store_true", help="skip the memory figure")
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "benchmark_estimates needs PostgreSQL: set DATABASE_URL=postgres://… "
                f"(the configured database is {connection.vendor})."
            )
        if options["holders"] < 2 or options["systems"] < 1 or options["records"] < 10:
            raise CommandError("--holders must be ≥ 2, --systems ≥ 1 and --records ≥ 10.")
        creation = connection.creation
        original = settings.DATABASES["default"]["NAME"]
        test_settings = connection.settings_dict.setdefault("TEST", {})
        test_settings.update({"NAME": f"{original}_bench", "CHARSET": None, "TEMPLATE": None})
        self.stdout.write(f"Creating the benchmark database {original}_bench …")
        reuse = options.get("reuse", False)
        bench_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=reuse)
        try:
            self._run(options, bench_name)
        finally:
            if not (options["keep"] or reuse):
                creation.destroy_test_db(original, verbosity=0)

    # -- building the data ------------------------------------------------------------------

    def _build(self, options, start: int, stop: int) -> float:
        from inventory.models import Country, WeaponSystem
        from transfers.models import Expenditure, Source, Transfer

        holders = list(Country.objects.order_by("pk").values_list("pk", flat=True))
        holders = holders[: options["holders"]]
        systems = list(
            WeaponSystem.objects.filter(name__startswith="Bench ").values_list("pk", flat=True)
        )
        source = Source.objects.get(url_canonical="https://bench.example.org/dataset").pk
        transfers_share = stop - start + 1
        n_transfers = transfers_share * 4 // 5
        after_t = Transfer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        after_e = Expenditure.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        params = {
            "start": start,
            "stop": start + n_transfers - 1,
            "stop_expenditures": start + (transfers_share - n_transfers) - 1,
            "holders": holders,
            "nh": len(holders),
            "systems": systems,
            "ns": len(systems),
            "source": source,
            "after_transfer": after_t,
            "after_expenditure": after_e,
        }
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(RECORDS_SQL, params)
            cursor.execute(LEDGER_SQL, params)
            cursor.execute("ANALYZE")
        return time.perf_counter() - began

    def _setup_catalogue(self, options) -> None:
        from inventory.models import WeaponSystem
        from transfers.models import Source

        families = []
        systems = []
        for i in range(options["systems"]):
            systems.append(WeaponSystem(name=f"Bench {i:05d}", counting_unit="vehicle"))
        WeaponSystem.objects.bulk_create(systems, batch_size=2000)
        systems = list(WeaponSystem.objects.filter(name__startswith="Bench ").order_by("pk"))
        for i, system in enumerate(systems):
            if i % 10 in (1, 2, 3, 4):  # every tenth system is a family with four variants
                system.parent_id = systems[i - i % 10].pk
                families.append(system)
        WeaponSystem.objects.bulk_update(families, ["parent"], batch_size=2000)
        Source.objects.create(
            url="https://bench.example.org/dataset",
            url_canonical="https://bench.example.org/dataset",
            title="Synthetic benchmark data",
            source_type="dataset",
            reliability="C",
        )

    # -- measuring ----------------------------------------------------------------------------

    def _run(self, options, bench_name: str) -> None:
        from stock.models import LedgerEntry, StockEstimate
        from stock.refresh import estimates_refresh_all

        runs = options["runs"]
        scale = options["records"]
        self._setup_catalogue(options)
        self.stdout.write(f"Building {scale:,} records with citations and their ledger …")
        took = self._build(options, 1, scale)
        rows = LedgerEntry.objects.count()
        self.stdout.write(f"  built in {took:.1f} s: {rows:,} ledger rows")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_floor (holder_id bigint, system_id bigint, "
                "received_low bigint, received_high bigint, sent_low bigint, sent_high bigint, "
                "expended_low bigint, expended_high bigint, n bigint, "
                "PRIMARY KEY (holder_id, system_id))"
            )
        estimates_refresh_all()  # warm the cache and fill the table once
        full = [_timed(estimates_refresh_all) for _ in range(runs)]
        floor = [_timed(self._floor) for _ in range(runs)]
        estimates = StockEstimate.objects.count()
        self.stdout.write("")
        self.stdout.write(
            f"scale S: {scale:,} records, {rows:,} ledger rows, {estimates:,} estimates "
            f"({options['holders']} holders × {options['systems']} systems)"
        )
        self._report("full refresh", full)
        self._report("floor (one INSERT … SELECT … GROUP BY … ON CONFLICT)", floor)
        ratio = statistics.median(full) / statistics.median(floor)
        self.stdout.write(f"  full refresh / floor: {ratio:.2f}× (target ≤ 1.5×)")
        incremental_s = self._incremental(runs)
        self._report("incremental refresh after one new transfer, at S", incremental_s, ms=True)
        if not options["no_grow"]:
            self.stdout.write(f"Growing to 10×S ({scale * 10:,} records) …")
            took = self._build(options, scale + 1, scale * 10)
            self.stdout.write(f"  built in {took:.1f} s")
            incremental_10 = self._incremental(runs)
            self._report(
                "incremental refresh after one new transfer, at 10×S", incremental_10, ms=True
            )
            self.stdout.write(
                "  10×S / S: "
                f"{statistics.median(incremental_10) / statistics.median(incremental_s):.2f}×"
            )
        if not options["no_worker"]:
            peak = self._worker_peak_memory(bench_name)
            if peak is not None:
                self.stdout.write(
                    f"worker peak memory (VmHWM) during a full refresh: {peak / 1024:.0f} MB "
                    "(target < 200 MB)"
                )

    def _floor(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL)

    def _incremental(self, runs: int) -> list[float]:
        from inventory.models import Country, WeaponSystem
        from stock.models import StaleEstimate
        from stock.refresh import estimates_refresh_pairs
        from transfers.services import transfer_create

        donor, recipient = Country.objects.order_by("pk")[:2]
        system = WeaponSystem.objects.filter(name__startswith="Bench ").order_by("pk")[1]
        timings = []
        for _ in range(runs):
            transfer_create(donor=donor, recipient=recipient, system=system, quantity_text="3")
            pairs = list(StaleEstimate.objects.values_list("holder_id", "system_id"))
            timings.append(_timed(lambda pairs=pairs: estimates_refresh_pairs(pairs)))
        return timings

    def _report(self, label: str, timings: list[float], ms: bool = False) -> None:
        median = statistics.median(timings)
        shown = f"{median * 1000:.1f} ms" if ms else f"{median:.2f} s"
        spread = ", ".join(f"{t * 1000:.0f}" if ms else f"{t:.2f}" for t in timings)
        self.stdout.write(f"{label}: median {shown} (runs: {spread})")

    def _worker_peak_memory(self, bench_name: str) -> int | None:
        """Start a real worker on the configured broker against the benchmark database,
        send it the full-refresh task, and read its peak resident memory."""
        if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
            self.stdout.write("worker memory: skipped (set CELERY_BROKER_URL to a real broker)")
            return None
        from celery import current_app as app

        from stock.models import StockEstimate

        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        queue = f"bench-{os.getpid()}"
        env = {**os.environ, "DATABASE_URL": url + bench_name, "CELERY_TASK_DEFAULT_QUEUE": queue}
        root = Path(settings.BASE_DIR)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
             "--concurrency", "1", "-Q", queue, "--loglevel", "WARNING"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(8)  # let it start and settle
            expected = StockEstimate.objects.count()
            StockEstimate.objects.all().delete()  # so the worker recomputes every row
            app.send_task("inventory.estimates_refresh_all", queue=queue)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if StockEstimate.objects.count() >= expected:
                    break
                time.sleep(0.5)
            time.sleep(1)
            status = Path(f"/proc/{worker.pid}/status").read_text()
            peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            return int(peak.split()[1])
        finally:
            worker.terminate()
            worker.wait(timeout=30)
