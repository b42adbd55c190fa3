"""Benchmark the API against a floor: `manage.py benchmark_api [--transfers N]`.

Builds a synthetic data set (transfers with citations and their sources) inside a
transaction on the configured database, then times, for one page of transfers with their
citations:

- the API: GET /api/v1/transfers/?page_size=100 through Django's test client with a token,
  the whole stack (middleware, auth, permissions, filters, pagination, serializers, JSON);
- the floor: the same page (count, next, every field of every record, its citations and
  their sources, its party roles) read with one raw SQL query and serialized with orjson.

The tables are ANALYZEd after the build, as autovacuum would have them. The two take turns,
so that the load of a shared machine falls on both alike; it prints the median of each,
their ratio (target: within 1.5x), the API's query count, and whether the two bodies are
identical (they must be, or the floor is not the same page). Then it rolls the data back
(unless --keep).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

import orjson
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client

from core.api.tokens import api_token_create
from core.quantities import format_range
from core.values import format_date
from inventory.models import Country, WeaponSystem
from transfers.models import Citation, PartyRole, Source, Transfer


class Rollback(Exception):
    pass


FLOOR_SQL = """
SELECT t.id, t.quantity_low, t.quantity_high, t.quantity_text, t.date, t.date_precision,
       t.basis, t.condition, t.pledge_id, t.notes, t.external_id, t.created_at, t.updated_at,
       s.id, s.name, d.id, d.code, d.name, r.id, r.code, r.name,
       c.id, c.excerpt, c.locator, c.stance, c.attribution, c.reliability, c.credibility,
       so.id, so.url, so.url_canonical, so.title, so.publisher, so.author, so.published_at,
       so.published_on, so.published_precision, so.retrieved_at, so.archive_url, so.content_sha256, so.source_type, so.reliability,
       so.notes, so.created_at, so.updated_at, (SELECT count(*) FROM {transfer}) AS total,
       t.date_end,
       (SELECT coalesce(json_agg(json_build_object(
                    'id', pr.id, 'party', json_build_object('id', p.id, 'code', p.code, 'name', p.name),
                    'role', pr.role) ORDER BY pr.id), '[]')
        FROM {role} pr JOIN {country} p ON p.id = pr.party_id WHERE pr.transfer_id = t.id) AS roles
FROM (SELECT * FROM {transfer} ORDER BY date DESC, id DESC LIMIT %s) t
JOIN {system} s ON s.id = t.system_id
JOIN {country} d ON d.id = t.donor_id
JOIN {country} r ON r.id = t.recipient_id
LEFT JOIN {citation} c ON c.transfer_id = t.id
LEFT JOIN {source} so ON so.id = c.source_id
ORDER BY t.date DESC, t.id DESC, c.id
"""


def _quantity_display(low, high, text) -> str:
    shown = format_range(low, high)
    return f"{shown} ({text!r})" if text and text != shown else shown


def floor_page(page_size: int) -> bytes:
    """The page the API answers, with every field it has, from one raw query (the count
    included, as a scalar subquery) serialized with orjson."""
    sql = FLOOR_SQL.format(
        transfer=Transfer._meta.db_table,
        system=WeaponSystem._meta.db_table,
        country=Country._meta.db_table,
        citation=Citation._meta.db_table,
        source=Source._meta.db_table,
        role=PartyRole._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [page_size])
        rows = cursor.fetchall()
    results: dict[int, dict] = {}
    total = 0
    for row in rows:
        record = results.get(row[0])
        if record is None:
            total = row[45]
            record = results[row[0]] = {
                "id": row[0],
                "system": {"id": row[13], "name": row[14]},
                "donor": {"id": row[15], "code": row[16], "name": row[17]},
                "recipient": {"id": row[18], "code": row[19], "name": row[20]},
                "basis": row[6],
                "pledge": row[8],
                "condition": row[7],
                "quantity_low": row[1],
                "quantity_high": row[2],
                "quantity_text": row[3],
                "quantity_display": _quantity_display(row[1], row[2], row[3]),
                "date": row[4],
                "date_precision": row[5],
                "date_end": row[46],
                "date_display": format_date(row[4], row[5]),
                "roles": row[47],
                "notes": row[9],
                "external_id": row[10],
                "unsourced": True,
                "citations": [],
                "created_at": row[11],
                "updated_at": row[12],
            }
        if row[21] is not None:
            record["unsourced"] = False
            record["citations"].append(
                {
                    "id": row[21],
                    "source": {
                        "id": row[28],
                        "url": row[29],
                        "url_canonical": row[30],
                        "title": row[31],
                        "publisher": row[32],
                        "author": row[33],
                        "published_at": row[34],
                        "published_on": row[35],
                        "published_precision": row[36],
                        "retrieved_at": row[37],
                        "archive_url": row[38],
                        "content_sha256": row[39],
                        "source_type": row[40],
                        "reliability": row[41],
                        "notes": row[42],
                        "created_at": row[43],
                        "updated_at": row[44],
                    },
                    "excerpt": row[22],
                    "locator": row[23],
                    "stance": row[24],
                    "attribution": row[25],
                    "reliability": row[26],
                    "credibility": row[27],
                    "grade": f"{row[26] or row[41]}{row[27]}",
                }
            )
    pages = -(-total // page_size)
    body = {
        "count": total,
        "next": f"http://testserver/api/v1/transfers/?page=2&page_size={page_size}"
        if pages > 1
        else None,
        "previous": None,
        "results": list(results.values()),
    }
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)


def medians_ms(actions: dict, repeat: int) -> dict[str, float]:
    """Each action's median time, the actions taking turns so that the load of a shared
    machine falls on all of them alike."""
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for action in actions.values():
        action()  # warm up
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            timings[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in timings.items()}


class Command(BaseCommand):
    help = "Time a 100-record page of transfers with citations: the API against a raw-SQL floor."

    def add_arguments(self, parser):
        parser.add_argument("--transfers", type=int, default=20_000)
        parser.add_argument("--citations-per-transfer", type=int, default=2)
        parser.add_argument("--page-size", type=int, default=100)
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--keep", action="store_true", help="Commit the synthetic data.")

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                self.build(options["transfers"], options["citations_per_transfer"])
                self.measure(options["page_size"], options["repeat"])
                if not options["keep"]:
                    raise Rollback
        except Rollback:
            self.stdout.write("Synthetic data rolled back.")

    def build(self, count: int, per: int) -> None:
        started = time.perf_counter()
        rng = random.Random(4)
        parties = list(Country.objects.filter(kind="state").values_list("pk", flat=True))
        systems = WeaponSystem.objects.bulk_create(
            WeaponSystem(name=f"Benchmark system {n}") for n in range(200)
        )
        sources = Source.objects.bulk_create(
            Source(
                url=f"https://bench.example.org/{n}",
                url_canonical=f"https://bench.example.org/{n}",
                title=f"Benchmark report {n}",
                publisher="Bench News",
                reliability=rng.choice("ABCDEF"),
            )
            for n in range(max(count // 4, 1))
        )
        transfers = []
        for n in range(count):
            donor, recipient = rng.sample(parties, 2)
            low = rng.randint(1, 200)
            transfers.append(
                Transfer(
                    system=rng.choice(systems),
                    donor_id=donor,
                    recipient_id=recipient,
                    quantity_low=low,
                    quantity_high=low + rng.randint(0, 50),
                    quantity_text=f"{low}",
                    date=dt.date(2014, 1, 1) + dt.timedelta(days=rng.randint(0, 4000)),
                    date_precision="day",
                    external_id=f"bench:{n}",
                )
            )
        transfers = Transfer.objects.bulk_create(transfers, batch_size=2000)
        Citation.objects.bulk_create(
            (
                Citation(
                    source=rng.choice(sources),
                    transfer=t,
                    excerpt="delivered as announced",
                    credibility=rng.randint(2, 6),
                )
                for t in transfers
                for _ in range(per)
            ),
            batch_size=2000,
        )
        # a third party arranged one transfer in ten (the "via" of issue 17)
        PartyRole.objects.bulk_create(
            (
                PartyRole(
                    transfer=t,
                    party_id=rng.choice(
                        [p for p in parties[:8] if p not in (t.donor_id, t.recipient_id)]
                    ),
                    role="arranger",
                )
                for t in transfers[::10]
            ),
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            # Statistics, as autovacuum keeps them on a real database (the rows are not
            # committed, so it never sees them); the planner sees the table's real size.
            for model in (Transfer, Citation, PartyRole, Source, WeaponSystem, Country):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        self.stdout.write(
            f"Built {count} transfers, {count * per} citations, {len(sources)} sources, "
            f"{len(transfers[::10])} party roles on "
            f"{connection.vendor} in {time.perf_counter() - started:.1f} s."
        )

    def measure(self, page_size: int, repeat: int) -> None:
        user = get_user_model().objects.create_user("benchmark-viewer")
        user.groups.add(Group.objects.get(name="viewer"))
        _, token = api_token_create(user=user)
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        url = f"/api/v1/transfers/?page_size={page_size}"

        def api():
            response = client.get(url)
            assert response.status_code == 200, response.content[:500]
            return response.content

        body = api()
        floor_body = floor_page(page_size)
        same = orjson.loads(body) == orjson.loads(floor_body)
        queries = []
        with connection.execute_wrapper(
            lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)
        ):
            api()
        figures = medians_ms({"api": api, "floor": lambda: floor_page(page_size)}, repeat)
        api_ms, floor_ms = figures["api"], figures["floor"]
        self.stdout.write(
            f"Page of {page_size} transfers with citations, median of {repeat} (taking turns):\n"
            f"  API   {api_ms:8.2f} ms  ({len(body):,} bytes, {len(queries)} queries with auth)\n"
            f"  floor {floor_ms:8.2f} ms  ({len(floor_body):,} bytes, one raw query + orjson)\n"
            f"  ratio {api_ms / floor_ms:8.2f}x  (target: within 1.5x)\n"
            f"  bodies {'identical' if same else 'DIFFERENT: the floor is not the same page'}"
        )
        if not same:
            self.stderr.write(f"API:   {body[:400]!r}\nfloor: {floor_body[:400]!r}")
