"""Benchmark of the matching (reports → movements), in a throwaway database.

    python manage.py benchmark_matching [--records 100000] [--datasets 3] [--runs 3]

Builds `--records` reports spread over `--datasets` datasets with set-based SQL — ledger
rows exactly as a transfer posts them (sent for the donor, received for the recipient),
every flow reported once by each dataset, the first dataset dated by year and split in two
yearly rows for one flow in five, the others undated totals, one flow in ten disagreeing —
then prints, each as the median of `--runs` runs:

- the full matching from the ledger (`stock.matching.movements_match_all`: reports derived
  from the ledger, candidates, scores, movements, superseded rows, the movements' own rows);
- the floor: one SQL self-join of the same reports on the blocking key (kind, donor,
  holder, family) across datasets — the least any matching must do;
- the candidate generation alone (`stock.matching.candidates_sql`: flows grouped, then
  joined), against the same floor;
- matching one new record: a transfer saved through the service (write, ledger, matching
  of its pairs), and the matching of its pairs alone.

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
                for amount, year in parts:
                    origin += 1
                    pk = origin * n_sets + dataset  # pk % n_sets is the dataset
                    date = None if dataset or year is None else dt.date(year, 1, 1)
                    precision = "year" if date else "unknown"
                    earliest, latest = date_interval(date, precision)
                    for holder, kind in ((donor, "sent"), (recipient, "received")):
                        rows.append(
                            (holder, system, kind, amount, amount, str(amount), date, precision,
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
        from stock.models import LedgerEntry, MatchDecision, Movement, MovementReport

        with transaction.atomic():
            MovementReport.objects.all().delete()
            MatchDecision.objects.all().delete()
            LedgerEntry.objects.filter(origin_model="stock.movement").delete()
            Movement.history.all().delete()
            Movement.objects.all().delete()
            LedgerEntry.objects.filter(is_superseded=True).update(is_superseded=False)

    # -- measuring ------------------------------------------------------------------------------

    def _run(self, options) -> None:
        from stock.matching import candidates_sql, movements_match_all
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
        table = MovementReport._meta.db_table
        floor_sql = f"""SELECT COUNT(*) FROM {table} a JOIN {table} b
            ON b.kind = a.kind AND COALESCE(b.donor_id, 0) = COALESCE(a.donor_id, 0)
           AND b.holder_id = a.holder_id AND b.family_id = a.family_id
           AND a.dataset < b.dataset"""
        candidates = f"SELECT COUNT(*) FROM ({candidates_sql('1 = 1')}) c"

        def run_sql(sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchone()[0]

        floor = [_timed(lambda: run_sql(floor_sql)) for _ in range(runs)]
        candidate = [_timed(lambda: run_sql(candidates)) for _ in range(runs)]
        self.stdout.write(
            f"  floor pairs: {run_sql(floor_sql):,}; candidate pairs: {run_sql(candidates):,}"
        )
        single, single_match = self._one_new_record(runs)

        def med(values):
            return statistics.median(values)

        self.stdout.write("")
        self.stdout.write(f"{'measure':<60} {'median':>12}")
        self.stdout.write(f"{'full matching from the ledger':<60} {med(full):>10.2f} s")
        self.stdout.write(f"{'floor: one self-join on the blocking key':<60} {med(floor):>10.3f} s")
        self.stdout.write(f"{'full / floor':<60} {med(full) / med(floor):>11.1f}×")
        self.stdout.write(
            f"{'candidate generation (flows, then joined)':<60} {med(candidate):>10.3f} s"
        )
        self.stdout.write(f"{'candidates / floor':<60} {med(candidate) / med(floor):>11.1f}×")
        self.stdout.write(
            f"{'one new record: write + ledger + matching (service)':<60} "
            f"{med(single) * 1000:>9.1f} ms"
        )
        self.stdout.write(
            f"{'one new record: matching of its pairs alone':<60} "
            f"{med(single_match) * 1000:>9.1f} ms"
        )

    def _one_new_record(self, runs: int) -> tuple[list[float], list[float]]:
        from inventory.models import WeaponSystem
        from stock.matching import movements_match
        from stock.models import MovementReport
        from transfers.models import Source
        from transfers.services import transfer_create

        source = Source.objects.create(
            url="https://bench.example.org/news",
            url_canonical="https://bench.example.org/news",
            title="Bench news",
            reliability="B",
        )
        totals, matches = [], []
        samples = list(
            MovementReport.objects.filter(kind="transfer")
            .exclude(donor=None)
            .order_by("id")[: runs * 50 : 50]
        )
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

            totals.append(_timed(write))
            pairs = [(report.holder_id, report.system_id), (report.donor_id, report.system_id)]
            matches.append(_timed(lambda pairs=pairs: movements_match(pairs)))
        return totals, matches
