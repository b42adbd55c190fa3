"""Benchmark of the matching (reports → movements), in a throwaway database.

    python manage.py benchmark_matching [--records 100000] [--datasets 3] [--runs 3]

Builds `--records` reports spread over `--datasets` datasets with set-based SQL — ledger
rows exactly as a transfer posts them (sent for the donor, received for the recipient),
every flow reported once by each dataset, the first dataset dated by year and split in two
yearly rows for one flow in five, the others undated totals, one flow in ten disagreeing,
one in twenty reported by the last dataset under the family of a variant (as Oryx names an
M777A2 where SIPRI names the family) — then prints, each as the median of `--runs` runs:

- **matching**: the candidate pairs found and scored with their verdicts (accepted, for
  review) by one set-based statement (`stock.matching.candidate_pairs`), against the floor:
  one SQL self-join of the same reports on the blocking key (kind, donor, holder, family)
  across datasets, fetching its pairs — the least any matching must do (target ≤ 3×);
- **the full reconciliation** from the ledger (`stock.matching.movements_match_all`:
  reports derived from the ledger, candidates, movements, their history, superseded rows,
  the movements' own rows), from no reports and again when nothing changes, against the
  floor of its writes: the same rows written again by bare `INSERT … SELECT` and one
  `UPDATE` in one transaction;
- **one new record**: a transfer saved through the service, and the matching of its pairs
  inside that write (target < 50 ms).

PostgreSQL or SQLite (the configured engine); the data lives in `<name>_bench`, dropped
after the run (`--keep` keeps it).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

BENCH_ORIGIN = "bench.report"


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class Command(BaseCommand):
    help = "Benchmark the matching of reports into movements on a synthetic data set."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=100_000)
        parser.add_argument("--datasets", type=int, default=3)
        parser.add_argument("--holders", type=int, default=200)
        parser.add_argument("--systems", type=int, default=2000)
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database")

    def handle(self, *args, **options):
        if options["records"] < 10 or options["datasets"] < 2 or options["holders"] < 2:
            raise CommandError("--records must be ≥ 10, --datasets ≥ 2 and --holders ≥ 2.")
        creation = connection.creation
        original = settings.DATABASES["default"]["NAME"]
        test_settings = connection.settings_dict.setdefault("TEST", {})
        if connection.vendor == "postgresql":
            test_settings.update({"NAME": f"{original}_bench", "CHARSET": None, "TEMPLATE": None})
        else:
            test_settings.update({"NAME": f"{original}_bench"})
        self.stdout.write("Creating the benchmark database …")
        creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            self._run(options)
        finally:
            if not options["keep"]:
                creation.destroy_test_db(original, verbosity=0)

    # -- data -----------------------------------------------------------------------------------

    def _build(self, options) -> int:
        from core.values import date_interval
        from inventory.models import Country, WeaponSystem
        from stock.ledger import Rebuilder, register_rebuilder
        from stock.models import LedgerEntry

        n_sets = options["datasets"]
        systems = [
            WeaponSystem(name=f"Bench {i:05d}", counting_unit="vehicle")
            for i in range(options["systems"])
        ]
        WeaponSystem.objects.bulk_create(systems, batch_size=2000)
        system_ids = list(
            WeaponSystem.objects.filter(name__startswith="Bench ")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        # one system in four is a variant of the one before it (a family of two)
        variants = []
        for index in range(1, len(system_ids), 4):
            variants.append(WeaponSystem(pk=system_ids[index], parent_id=system_ids[index - 1]))
        WeaponSystem.objects.bulk_update(variants, ["parent"], batch_size=2000)
        family_of = {v.pk: v.parent_id for v in variants}
        holders = list(Country.objects.order_by("pk").values_list("pk", flat=True))
        holders = holders[: options["holders"]]
        # the dataset of a bench report is its id modulo the number of datasets
        register_rebuilder(
            Rebuilder(
                batches=lambda: iter(()),
                existing=lambda model, ids: set(ids),
                models=(BENCH_ORIGIN,),
                datasets=lambda model, ids: {pk: f"bench-{pk % n_sets}" for pk in ids},
            )
        )
        rows = []
        now = timezone.now()
        flows = options["records"] // n_sets
        origin = 0
        for flow in range(flows):
            donor = holders[flow % len(holders)]
            recipient = holders[(flow * 7 + 1) % len(holders)]
            if recipient == donor:
                recipient = holders[(flow * 7 + 2) % len(holders)]
            system = system_ids[(flow // len(holders)) % len(system_ids)]
            quantity = 10 + flow % 50
            for dataset in range(n_sets):
                parts = [(quantity, 2022 + flow % 3)]
                if dataset == 0 and flow % 5 == 0:  # yearly rows that add up
                    parts = [(quantity // 2, 2022), (quantity - quantity // 2, 2023)]
                if dataset == n_sets - 1 and flow % 10 == 0:  # a disagreeing dataset
                    parts = [(quantity * 2, None)]
                reported = system
                if dataset == n_sets - 1 and flow % 20 == 3 and system in family_of:
                    reported = family_of[system]  # the family's name for the variant
                for amount, year in parts:
                    origin += 1
                    pk = origin * n_sets + dataset  # pk % n_sets is the dataset
                    date = None if dataset or year is None else dt.date(year, 1, 1)
                    precision = "year" if date else "unknown"
                    earliest, latest = date_interval(date, precision)
                    for holder, kind in ((donor, "sent"), (recipient, "received")):
                        rows.append(
                            (holder, reported, kind, amount, amount, str(amount), date, precision,
                             earliest, latest, False, f"Bench report {pk}", "C2", BENCH_ORIGIN,
                             pk, False, now, None)
                        )  # fmt: skip
        from core.services import rows_insert
        from stock.ledger import COLUMNS

        rows_insert(LedgerEntry, list(COLUMNS), rows)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return origin

    def _reset(self) -> None:
        from stock.models import (
            LedgerEntry,
            LedgerSupersession,
            MatchDecision,
            Movement,
            MovementReport,
        )

        with transaction.atomic():
            LedgerSupersession.objects.all().delete()
            MovementReport.objects.all().delete()
            MatchDecision.objects.all().delete()
            LedgerEntry.objects.filter(origin_model="stock.movement").delete()
            Movement.history.all().delete()
            Movement.objects.all().delete()
            LedgerEntry.objects.filter(is_superseded=True).update(is_superseded=False)
        self._vacuum()

    def _vacuum(self) -> None:
        """Clear the dead rows the last run left (a production database is not deleted and
        rebuilt between matchings; without this each run reads its predecessors' garbage:
        2.7 M dead ledger rows after a few runs, and the one-record matching 4× slower)."""
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    # -- measuring ------------------------------------------------------------------------------

    def _run(self, options) -> None:
        from stock.matching import candidate_pairs, movements_match_all
        from stock.models import Movement, MovementReport

        runs = options["runs"]
        self.stdout.write(f"Building {options['records']:,} reports in the ledger …")
        reports = self._build(options)
        self.stdout.write(
            f"  {reports:,} reports over {options['datasets']} datasets ({connection.vendor})"
        )

        full = []
        for _ in range(runs):
            self._reset()
            full.append(_timed(movements_match_all))
        self.stdout.write(
            f"  {Movement.objects.count():,} movements "
            f"({Movement.objects.filter(conflict=True).count():,} in conflict), "
            f"{MovementReport.objects.count():,} reports"
        )
        unchanged = [_timed(movements_match_all) for _ in range(runs)]  # nothing to change
        writes_floor = self._writes_floor(runs)
        table = MovementReport._meta.db_table
        floor_sql = f"""SELECT a.id, b.id FROM {table} a JOIN {table} b
            ON b.kind = a.kind AND COALESCE(b.donor_id, 0) = COALESCE(a.donor_id, 0)
           AND b.holder_id = a.holder_id AND b.family_id = a.family_id
           AND a.dataset < b.dataset"""

        def run_sql(sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return len(cursor.fetchall())

        floor, matching = [], []
        for _ in range(runs):  # taking turns
            floor.append(_timed(lambda: run_sql(floor_sql)))
            matching.append(_timed(lambda: candidate_pairs(None)))
        pairs = candidate_pairs(None)
        verdicts = {v: sum(1 for p in pairs if p[-1] == v) for v in ("auto", "review", "none")}
        self.stdout.write(
            f"  floor pairs: {run_sql(floor_sql):,}; candidate pairs: {len(pairs):,} "
            f"({verdicts['auto']:,} accepted, {verdicts['review']:,} for review, "
            f"{verdicts['none']:,} below the review threshold)"
        )
        single, single_match = self._one_new_record(runs)

        def med(values):
            return statistics.median(values)

        def line(label, value):
            self.stdout.write(f"{label:<64} {value:>12}")

        self.stdout.write("")
        line("measure", "median")
        line("matching: candidates found and scored (set-based SQL)", f"{med(matching):.3f} s")
        line("floor: one self-join on the blocking key", f"{med(floor):.3f} s")
        line("matching / floor (target ≤ 3×)", f"{med(matching) / med(floor):.2f}×")
        line("full reconciliation from the ledger (from no reports)", f"{med(full):.2f} s")
        line("floor: the same rows written by bare SQL", f"{med(writes_floor):.2f} s")
        line("full / its writes' floor", f"{med(full) / med(writes_floor):.2f}×")
        line("full / the self-join floor", f"{med(full) / med(floor):.0f}×")
        line("full reconciliation again (nothing changes)", f"{med(unchanged):.2f} s")
        line(
            "one new record: its matching, inside its write (target < 50 ms)",
            f"{med(single_match) * 1000:.1f} ms",
        )
        line(
            "one new record: the whole write (record, ledger, matching)",
            f"{med(single) * 1000:.1f} ms",
        )

    def _writes_floor(self, runs: int) -> list[float]:
        """The rows a full reconciliation writes (reports with their links, movements and
        their history, the movements' ledger rows, the superseded flags and their times),
        written again by bare SQL from a copy, in one transaction: what any reconciliation
        must write."""
        from stock.models import LedgerEntry, LedgerSupersession, Movement, MovementReport

        tables = {
            "report": MovementReport._meta.db_table,
            "movement": Movement._meta.db_table,
            "history": Movement.history.model._meta.db_table,
            "ledger": LedgerEntry._meta.db_table,
            "supersession": LedgerSupersession._meta.db_table,
        }
        with connection.cursor() as cursor:
            for name, table in tables.items():
                where = "WHERE origin_model = 'stock.movement'" if name == "ledger" else ""
                cursor.execute(f"DROP TABLE IF EXISTS bench_saved_{name}")
                cursor.execute(f"CREATE TABLE bench_saved_{name} AS SELECT * FROM {table} {where}")
            cursor.execute("DROP TABLE IF EXISTS bench_saved_superseded")
            cursor.execute(
                f"CREATE TABLE bench_saved_superseded AS SELECT id FROM {tables['ledger']} "
                "WHERE is_superseded = true"
            )
        times = []
        for _ in range(runs):
            self._reset()

            def write():
                with transaction.atomic(), connection.cursor() as cursor:
                    for name in ("movement", "history", "report", "ledger", "supersession"):
                        cursor.execute(
                            f"INSERT INTO {tables[name]} SELECT * FROM bench_saved_{name}"
                        )
                    cursor.execute(
                        f"UPDATE {tables['ledger']} SET is_superseded = true "
                        "WHERE id IN (SELECT id FROM bench_saved_superseded)"
                    )

            times.append(_timed(write))
        # the tables hold again what the full reconciliation wrote
        self._vacuum()
        return times

    def _one_new_record(self, runs: int) -> tuple[list[float], list[float]]:
        from inventory.models import WeaponSystem
        from stock.models import MovementReport
        from transfers.models import Source
        from transfers.services import transfer_create

        source, _ = Source.objects.get_or_create(
            url_canonical="https://bench.example.org/news",
            defaults={
                "url": "https://bench.example.org/news",
                "title": "Bench news",
                "reliability": "B",
            },
        )
        totals, matches = [], []
        samples = list(
            MovementReport.objects.filter(kind="transfer")
            .exclude(donor=None)
            .order_by("id")[: runs * 50 : 50]
        )
        import transfers.ledger as ledger_module

        original = ledger_module.movements_match

        def timed_match(pairs):
            start = time.perf_counter()
            try:
                return original(pairs)
            finally:
                matches.append(time.perf_counter() - start)

        for report in samples:
            system = WeaponSystem.objects.get(pk=report.system_id)

            def write(report=report, system=system):
                transfer_create(
                    donor_id=report.donor_id,
                    recipient_id=report.holder_id,
                    system=system,
                    quantity_text=str(report.quantity_low),
                    citations=[{"source": source, "excerpt": "bench", "credibility": 2}],
                )

            ledger_module.movements_match = timed_match
            try:
                totals.append(_timed(write))
            finally:
                ledger_module.movements_match = original
        return totals, matches
