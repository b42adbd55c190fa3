"""Benchmark of the estimate refresh on PostgreSQL, in a throwaway database.

    python manage.py benchmark_estimates [--holders 250] [--systems 2000]
        [--records 1000000] [--shape uniform|register] [--samples DIR] [--runs 5]
        [--no-grow] [--no-worker] [--keep]

Data: a synthetic set built with set-based SQL (transfers and expenditures with one citation
each and their ledger rows exactly as `transfers.ledger` posts them), of one of two shapes:

- `uniform`: every date a day of 2015–2025, holders and systems evenly spread;
- `register`: shaped like the public registers: dates over 75 years (1950–2025), most of
  them years (SIPRI), the losses "on or before" a day since 2022 (Oryx), a few holders and
  systems with many rows and a long tail of pairs with one or two (skewed draws), so that
  variants and families carry flows of their own;

or, with `--samples DIR`, the shared samples imported as a user would (the SIPRI register
sample, the Oryx losses sample and the Kiel sample from DIR, e.g. `../shared/data`).

It prints, each as the median of `--runs` runs taken in alternating turns with its floor,
with the floor, the ratio, the target and the load average at the time:

1. a full refresh that changes nothing (`stock.refresh.estimates_refresh_all`: system and
   family estimates, and the series of what changed) against the read-only
   `SELECT … GROUP BY` of the same ledger (pairs and holder × family); target ≤ 3×;
2. a full refresh from empty estimate and series tables against one `INSERT … SELECT` of
   the same rows (the estimates and the series points it wrote, into tables with the same
   columns and indexes); target ≤ 1.5×;
3. fresh after a bulk import: from what an import into an empty database leaves (no
   estimate, no point, every pair marked stale), the time until every estimate is fresh
   (`manage.py estimates refresh`, batches of the stale pairs), against one set-based full
   refresh of the same pairs, with the series and (second floor) without; target ≤ 2×;
4. the incremental refresh after one new transfer saved through the service, at the scale
   S and, unless --no-grow, at 10×S (target < 50 ms, flat);
5. the peak memory (VmHWM) of a real Celery worker process running the full refresh task
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
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

# A record's interval of days, as `core.values.date_interval` gives it (day, year, on or
# before): the ledger's date_earliest and date_latest.
EARLIEST = "CASE {t}.date_precision WHEN 'on_or_before' THEN NULL ELSE {t}.date END"
LATEST = (
    "CASE {t}.date_precision WHEN 'year' THEN ({t}.date + INTERVAL '1 year' - INTERVAL '1 day')::date "
    "ELSE {t}.date END"
)

LEDGER_SQL = f"""
INSERT INTO inventory_ledgerentry
  (holder_id, system_id, kind, quantity_low, quantity_high, quantity_text, date, date_precision,
   date_earliest, date_latest,
   via_contract, origin_model, origin_id, origin_label, grade, is_cancelled, posted_at)
SELECT side.holder_id, t.system_id, side.kind, t.quantity_low, t.quantity_high, t.quantity_text,
       t.date, t.date_precision, {EARLIEST.format(t="t")}, {LATEST.format(t="t")},
       side.kind = 'received' AND t.basis = 'contract',
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
       e.date, e.date_precision, {EARLIEST.format(t="e")}, {LATEST.format(t="e")}, false,
       'transfers.expenditure', e.id, 'Expenditure #' || e.id, c.grade, false, now()
FROM transfers_expenditure e
JOIN (SELECT expenditure_id, MIN(reliability || credibility) AS grade
      FROM transfers_citation WHERE expenditure_id IS NOT NULL GROUP BY expenditure_id) c
  ON c.expenditure_id = e.id
WHERE e.id > %(after_expenditure)s;
"""

# u(k): a deterministic draw in [0, 1) per row (g) for the register shape
_U = "(((g * {k}) %% 1000003)::float8 / 1000003)"
SHAPES = {
    "uniform": {
        "transfer_date": "DATE '2015-01-01' + (g * 7919 %% 3650)::int",
        "transfer_precision": "'day'",
        "donor": "1 + (g * 13 %% %(nh)s)",
        "recipient": "1 + ((g * 13 + 1 + g %% (%(nh)s - 1)) %% %(nh)s)",
        "system": "1 + (g * 17 %% %(ns)s)",
        "expenditure_date": "DATE '2016-01-01' + (g * 104729 %% 3285)::int",
        "expenditure_precision": "'day'",
        "holder": "1 + (g * 7 %% %(nh)s)",
        "expenditure_system": "1 + (g * 23 %% %(ns)s)",
    },
    "register": {
        # SIPRI-like: 1950–2025, three rows in five dated by year only
        "transfer_date": (
            "CASE WHEN g %% 5 < 3 THEN date_trunc('year', DATE '1950-01-01' + "
            f"(27700 * {_U.format(k=40503)})::int)::date "
            f"ELSE DATE '1950-01-01' + (27700 * {_U.format(k=40503)})::int END"
        ),
        "transfer_precision": "CASE WHEN g %% 5 < 3 THEN 'year' ELSE 'day' END",
        # a few donors and recipients with many rows, a long tail with few
        "donor": f"1 + LEAST(%(nh)s - 1, floor(%(nh)s * power({_U.format(k=69621)}, 2))::int)",
        "recipient": (
            f"1 + ((LEAST(%(nh)s - 1, floor(%(nh)s * power({_U.format(k=69621)}, 2))::int) + 1 "
            f"+ floor((%(nh)s - 1) * power({_U.format(k=48271)}, 2))::int) %% %(nh)s)"
        ),
        "system": f"1 + LEAST(%(ns)s - 1, floor(%(ns)s * power({_U.format(k=16807)}, 3))::int)",
        # Oryx-like: since 2022, seven in ten "on or before" the day they were recorded
        "expenditure_date": f"DATE '2022-02-24' + (1300 * {_U.format(k=7919)})::int",
        "expenditure_precision": "CASE WHEN g %% 10 < 7 THEN 'on_or_before' ELSE 'day' END",
        "holder": f"1 + LEAST(%(nh)s - 1, floor(%(nh)s * power({_U.format(k=31337)}, 4))::int)",
        "expenditure_system": (
            f"1 + LEAST(%(ns)s - 1, floor(%(ns)s * power({_U.format(k=25117)}, 2))::int)"
        ),
    },
}

RECORDS_SQL = """
INSERT INTO transfers_transfer
  (quantity_low, quantity_high, quantity_text, date, date_precision, notes, external_id,
   created_at, updated_at, basis, condition, donor_id, recipient_id, system_id)
SELECT q, q + (g %% 3), q::text, {transfer_date}, {transfer_precision}, '',
       'bench:t:' || g, now(), now(), CASE WHEN g %% 5 = 0 THEN 'contract' ELSE 'pledge' END,
       'new', h.donor, h.recipient, s.system
FROM (SELECT g, (1 + g * 31 %% 40)::int AS q FROM generate_series(%(start)s::bigint, %(stop)s) g) n
CROSS JOIN LATERAL (SELECT (%(holders)s)[{donor}] AS donor,
                           (%(holders)s)[{recipient}] AS recipient) h
CROSS JOIN LATERAL (SELECT (%(systems)s)[{system}] AS system) s;

INSERT INTO transfers_expenditure
  (quantity_low, quantity_high, quantity_text, date, date_precision, notes, external_id,
   created_at, updated_at, holder_id, kind, location, system_id)
SELECT 1 + g %% 3, CASE WHEN g %% 11 = 0 THEN NULL ELSE 1 + g %% 3 + g %% 2 END, '',
       {expenditure_date}, {expenditure_precision}, '', 'bench:e:' || g, now(), now(),
       (%(holders)s)[{holder}], 'destroyed', '', (%(systems)s)[{expenditure_system}]
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

_SUMS = """SUM(CASE WHEN kind = 'received' THEN quantity_low ELSE 0 END) AS rl,
       SUM(CASE WHEN kind = 'received' THEN quantity_high ELSE 0 END) AS rh,
       SUM(CASE WHEN kind = 'sent' THEN quantity_low ELSE 0 END) AS sl,
       SUM(CASE WHEN kind = 'sent' THEN quantity_high ELSE 0 END) AS sh,
       SUM(CASE WHEN kind = 'expended' THEN quantity_low ELSE 0 END) AS el,
       SUM(CASE WHEN kind = 'expended' THEN quantity_high ELSE 0 END) AS eh,
       COUNT(*) AS n"""

# The read-only floor: the ledger's sums per pair, and per holder × family (its members'
# rows), aggregated once more so that no row travels to the client.
GROUP_BY_SQL = f"""
SELECT COUNT(*), SUM(rl), SUM(rh), SUM(sl), SUM(sh), SUM(el), SUM(eh), SUM(n) FROM (
  SELECT holder_id, system_id, {_SUMS}
  FROM inventory_ledgerentry WHERE is_cancelled = false AND is_superseded = false
  GROUP BY holder_id, system_id) g
"""
FAMILY_GROUP_BY_SQL = f"""
WITH lineage (ancestor_id, descendant_id) AS (VALUES {{lineage}})
SELECT COUNT(*), SUM(rl), SUM(rh), SUM(sl), SUM(sh), SUM(el), SUM(eh), SUM(n) FROM (
  SELECT l.holder_id, lineage.ancestor_id, {_SUMS}
  FROM inventory_ledgerentry l JOIN lineage ON lineage.descendant_id = l.system_id
  WHERE l.is_cancelled = false AND l.is_superseded = false
  GROUP BY l.holder_id, lineage.ancestor_id) g
"""

SAMPLES = [
    ("sipri", "sipri-trade-register-2026-sample.csv"),
    ("oryx-losses", "oryx-losses-destroyed-ukraine-foreign-origin.csv"),
    ("kiel", "kiel-ust-weapons.csv"),
]


def _load() -> str:
    """The 1-minute load average now."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class Command(BaseCommand):
    help = "Benchmark the estimate refresh against its floors (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--holders", type=int, default=250)
        parser.add_argument("--systems", type=int, default=2000)
        parser.add_argument(
            "--records", type=int, default=1_000_000, help="transfers + expenditures (S)"
        )
        parser.add_argument("--shape", choices=sorted(SHAPES), default="uniform")
        parser.add_argument(
            "--samples",
            type=Path,
            help="import the shared samples from this directory instead of synthetic data",
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
        if options["samples"] is not None:
            missing = [n for _, n in SAMPLES if not (options["samples"] / n).is_file()]
            if missing:
                raise CommandError(f"not in {options['samples']}: {', '.join(missing)}")
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
            WeaponSystem.objects.filter(name__startswith="Bench ")
            .order_by("pk")
            .values_list("pk", flat=True)
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
        records_sql = RECORDS_SQL.format(**SHAPES[options.get("shape") or "uniform"])
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(records_sql, params)
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

    def _import_samples(self, directory: Path) -> None:
        from stock.ledger import refresh_held
        from transfers.importers import import_file

        with refresh_held():  # marked stale, no task: the benchmark refreshes them
            for fmt, name in SAMPLES:
                started = time.perf_counter()
                with (directory / name).open("rb") as stream:
                    report = import_file(fmt, stream, filename=name)
                if not report.written:
                    raise CommandError(f"{name}: not imported\n{report.summary()}")
                self.stdout.write(
                    f"  {name}: {report.rows:,} rows in {time.perf_counter() - started:.1f} s"
                )

    # -- measuring ----------------------------------------------------------------------------

    def _run(self, options, bench_name: str) -> None:
        from stock.models import EstimatePoint, LedgerEntry, StaleEstimate, StockEstimate
        from stock.refresh import estimates_refresh_all

        runs = options["runs"]
        scale = options["records"]
        if options["samples"] is not None:
            self.stdout.write(f"Importing the samples from {options['samples']} …")
            self._import_samples(options["samples"])
            label = "the shared samples (SIPRI, Oryx losses, Kiel)"
        else:
            self._setup_catalogue(options)
            self.stdout.write(
                f"Building {scale:,} records ({options['shape']} shape) with citations and "
                "their ledger …"
            )
            took = self._build(options, 1, scale)
            self.stdout.write(f"  built in {took:.1f} s")
            label = f"S: {scale:,} records, {options['shape']} shape"
        rows = LedgerEntry.objects.filter(is_cancelled=False).count()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            for name, model in (("estimate", StockEstimate), ("point", EstimatePoint)):
                cursor.execute(
                    f"CREATE TABLE bench_{name} (LIKE {model._meta.db_table} INCLUDING ALL)"
                )
        self._stale_pairs = list(
            StaleEstimate.objects.values_list("holder_id", "system_id", "marked_at")
        )
        started = time.perf_counter()
        estimates_refresh_all()  # fill the estimates and the series once (warm)
        first = time.perf_counter() - started
        estimates = StockEstimate.objects.count()
        points = EstimatePoint.objects.count()
        pairs = LedgerEntry.objects.values_list("holder_id", "system_id").distinct().count()
        self.stdout.write("")
        self.stdout.write(
            f"{label}: {rows:,} ledger rows, {pairs:,} pairs, {estimates:,} estimates "
            f"(system and family), {points:,} series points; first full refresh {first:.1f} s"
        )
        self.stdout.write(
            "figure: median (runs) | floor: median (runs) | ratio, target | load average"
        )

        # 1. a refresh that changes nothing against the read-only GROUP BY
        self._versus(
            "1. full refresh, nothing to change",
            estimates_refresh_all,
            "read-only SELECT … GROUP BY (pairs and holder × family)",
            self._group_by,
            runs,
            target=3.0,
        )
        # 2. from empty tables against one INSERT … SELECT of the same rows
        self._versus(
            "2. full refresh from empty estimates and series",
            estimates_refresh_all,
            "INSERT … SELECT of the same rows (estimates, points)",
            self._insert_same_rows,
            runs,
            target=1.5,
            before_figure=self._empty,
            before_floor=self._empty_copies,
        )
        # 3. fresh after a bulk import: every pair stale, nothing computed
        stale_refresh = self._versus(
            "3. fresh after a bulk import (`estimates refresh` of the stale pairs)",
            self._refresh_stale,
            "one set-based full refresh of the same pairs, with the series",
            estimates_refresh_all,
            runs,
            target=2.0,
            before_figure=self._as_imported,
            before_floor=self._as_imported,
        )
        set_based = self._versus(
            "3b. the same, against the set-based refresh without the series",
            lambda: None,
            "set-based full refresh of the same pairs, estimates only",
            lambda: estimates_refresh_all(series=False),
            runs,
            target=None,
            before_floor=self._as_imported,
            quiet=True,
        )
        self.stdout.write(
            f"   fresh after import / set-based estimates only: "
            f"{stale_refresh / set_based:.2f}× (the series are the difference)"
        )
        estimates_refresh_all()
        if options["samples"] is not None:
            return
        incremental_s = self._incremental(runs)
        self._report("4. incremental refresh after one new transfer, at S", incremental_s)
        if not options["no_grow"]:
            self.stdout.write(f"Growing to 10×S ({scale * 10:,} records) …")
            took = self._build(options, scale + 1, scale * 10)
            self.stdout.write(f"  built in {took:.1f} s")
            estimates_refresh_all(series=False)
            incremental_10 = self._incremental(runs)
            self._report("4. incremental refresh after one new transfer, at 10×S", incremental_10)
            self.stdout.write(
                "   10×S / S: "
                f"{statistics.median(incremental_10) / statistics.median(incremental_s):.2f}× "
                "(target: flat, < 50 ms)"
            )
        if not options["no_worker"]:
            peak = self._worker_peak_memory(bench_name)
            if peak is not None:
                self.stdout.write(
                    f"5. worker peak memory (VmHWM) during a full refresh: {peak / 1024:.0f} MB "
                    f"(target < 200 MB) | load {_load()}"
                )

    def _versus(
        self,
        label: str,
        figure,
        floor_label: str,
        floor,
        runs: int,
        *,
        target: float | None,
        before_figure=None,
        before_floor=None,
        quiet: bool = False,
    ) -> float:
        """Time `figure` and `floor` in alternating turns (each after its own set-up, not
        timed); print both medians, the ratio, the target and the load; returns the
        floor's median when quiet, else the figure's."""
        figures, floors, loads = [], [], []
        for _ in range(runs):
            if not quiet:
                if before_figure is not None:
                    before_figure()
                figures.append(_timed(figure))
            if before_floor is not None:
                before_floor()
            floors.append(_timed(floor))
            loads.append(float(_load()))
        floor_median = statistics.median(floors)
        load = f"{min(loads):.1f}–{max(loads):.1f}"
        if quiet:
            self.stdout.write(f"   {floor_label}: {self._seconds(floors)} | load {load}")
            return floor_median
        median = statistics.median(figures)
        ratio = median / floor_median if floor_median else float("inf")
        verdict = ""
        if target is not None:
            verdict = f", target ≤ {target:g}× {'✔' if ratio <= target else '✘'}"
        self.stdout.write(
            f"{label}: {self._seconds(figures)} | {floor_label}: {self._seconds(floors)} | "
            f"{ratio:.2f}×{verdict} | load {load}"
        )
        return median

    @staticmethod
    def _seconds(timings: list[float]) -> str:
        median = statistics.median(timings)
        if median < 1:
            runs = ", ".join(f"{t * 1000:.0f}" for t in timings)
            return f"{median * 1000:.1f} ms ({runs})"
        return f"{median:.2f} s ({', '.join(f'{t:.2f}' for t in timings)})"

    def _group_by(self) -> None:
        from stock.refresh import family_lineage

        lineage = family_lineage()
        with connection.cursor() as cursor:
            cursor.execute(GROUP_BY_SQL)
            cursor.fetchall()
            if lineage:
                values = ", ".join(f"({int(a)}, {int(d)})" for a, d in lineage)
                cursor.execute(FAMILY_GROUP_BY_SQL.format(lineage=values))
                cursor.fetchall()

    def _empty(self) -> None:
        from stock.models import EstimatePoint, StockEstimate

        with connection.cursor() as cursor:
            cursor.execute(
                f"TRUNCATE {StockEstimate._meta.db_table}, {EstimatePoint._meta.db_table}"
            )

    def _empty_copies(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_estimate, bench_point")

    def _insert_same_rows(self) -> None:
        from stock.models import EstimatePoint, StockEstimate

        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO bench_estimate SELECT * FROM {StockEstimate._meta.db_table}"
            )
            cursor.execute(f"INSERT INTO bench_point SELECT * FROM {EstimatePoint._meta.db_table}")

    def _as_imported(self) -> None:
        """What an import into an empty database leaves: no estimate, no point, every pair
        with ledger rows marked stale (the samples: the pairs their import marked)."""
        from stock.models import StaleEstimate

        self._empty()
        table = StaleEstimate._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table}")
            if self._stale_pairs:
                cursor.execute(
                    f"INSERT INTO {table} (holder_id, system_id, marked_at) "
                    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[])",
                    [list(column) for column in zip(*self._stale_pairs, strict=True)],
                )
            else:
                cursor.execute(
                    f"INSERT INTO {table} (holder_id, system_id, marked_at) "
                    "SELECT DISTINCT holder_id, system_id, now() FROM inventory_ledgerentry "
                    "WHERE is_cancelled = false"
                )
            cursor.execute("ANALYZE")

    def _refresh_stale(self) -> None:
        with open(os.devnull, "w") as quiet:
            call_command("estimates", "refresh", "--no-progress", stdout=quiet)

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

    def _report(self, label: str, timings: list[float]) -> None:
        self.stdout.write(f"{label}: {self._seconds(timings)} | load {_load()}")

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
