"""Matching: which reports describe the same movement (docs/reconciliation.md).

1. **Reports.** Every ledger origin that moves stock (not baselines, not movements) is a
   `MovementReport`, derived from its ledger rows: kind, donor, holder, system, the system's
   family (the root of the catalogue's `WeaponSystem.parent` tree), quantity range, date
   widened by its precision to a window, grade, and its dataset (named by the origin's
   owner: "sipri", "kiel", "oryx-supplied", "source:12"…).
2. **Flows.** One dataset's reports of one kind, parties and system add up: they are that
   dataset's statement of the flow (SIPRI's yearly rows summed before they meet Oryx's or
   Kiel's one total).
3. **Candidates**, set-based in SQL: flows of different datasets with the same blocking
   key — kind, donor, holder, system family — and overlapping date windows (an unknown date
   matches any date).
4. **Scores** (0–1): system (same 1, one a variant of the other 0.65, siblings are not
   candidates) × date (both dated 1, one undated 0.95) × quantity (ranges overlap 1,
   disjoint 0.6 + 0.4 × the ratio of the nearer bounds). At or above `AUTO_THRESHOLD` a pair
   is accepted automatically; between `REVIEW_THRESHOLD` and it, it waits for review
   (`MatchDecision`, status pending). The candidates' statement computes the score and
   this verdict (`pair_score` is the same rule in Python, for the likely matches at entry).
   Editors confirm (merged whatever its score) or reject (never proposed again) through
   `stock.services`.
5. **Movements**: accepted pairs are merged greedily (confirmed first, then by score, then
   by key — so the result depends on the set of reports and decisions, never on the order
   they arrived), and only while every pair of flows in a movement stays compatible: one
   flow per dataset, overlapping windows, systems on one line of the family tree, no
   rejected pair. Each movement is reconciled by `stock.movements`.

Everything is recomputed per block (kind, donor, holder, family) from what is stored, so
matching twice changes nothing and a re-import changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.services import rows_insert, tracked_bulk_create, tracked_bulk_update, tracked_delete
from inventory.models import WeaponSystem
from stock.choices import MatchStatus
from stock.estimates import Range
from stock.ledger import (
    EntrySpec,
    Origin,
    Pair,
    estimates_mark_stale,
    id_filters,
    ledger_post,
    origin_datasets,
)
from stock.models import (
    LedgerEntry,
    LedgerSupersession,
    MatchDecision,
    Movement,
    MovementReport,
)
from stock.movements import (
    DONOR_ROW,
    KIND_OF_ROW,
    MOVEMENT_ORIGIN,
    Flow,
    movement_entries,
    reconcile,
    windows_overlap,
)

AUTO_THRESHOLD = 0.7
ANALYZE_AFTER = (
    5000  # new rows in one transaction after which PostgreSQL's statistics are refreshed
)
REVIEW_THRESHOLD = 0.4

Block = tuple[str, int, int, int]  # kind, donor id (0: none), holder id, family id

# Editions: datasets that are exports of one register at different dates (SIPRI's 2026 and
# classic formats: the same deals under two keys). {dataset: (register, rank)}: filled by
# the layer that names the datasets (`transfers.ledger.register`). Once a newer edition has
# reports, an older one's are left out whole (superseded, in no movement): both exports
# imported count what the newest one says, in either order.
EDITIONS: dict[str, tuple[str, int]] = {}


def register_editions(editions: dict[str, tuple[str, int]]) -> None:
    EDITIONS.update(editions)


def superseded_editions() -> list[str]:
    """The edition datasets left out because a newer edition of their register has
    reports (one indexed EXISTS per edition, in one statement)."""
    if not EDITIONS:
        return []
    names = sorted(EDITIONS)
    sql = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {MovementReport._meta.db_table} WHERE dataset = %s)"
        for _ in names
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for name in names for value in (name, name)])
        present = {row[0] for row in cursor.fetchall()}
    return sorted(
        name
        for name in present
        if any(
            EDITIONS[other][0] == EDITIONS[name][0] and EDITIONS[other][1] > EDITIONS[name][1]
            for other in present
        )
    )


def _blocks_to_leave(old: list[str]) -> set[Block]:
    """Blocks where a report of a superseded edition is still in a movement or counted."""
    if not old:
        return set()
    ledger = LedgerEntry._meta.db_table
    marks = ", ".join(["%s"] * len(old))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT r.kind, COALESCE(r.donor_id, 0), r.holder_id, r.family_id
            FROM {MovementReport._meta.db_table} r
            WHERE r.dataset IN ({marks}) AND (r.movement_id IS NOT NULL OR EXISTS (
                SELECT 1 FROM {ledger} l WHERE l.origin_model = r.origin_model
                  AND l.origin_id = r.origin_id AND l.is_cancelled = false
                  AND l.is_superseded = false))""",
            old,
        )
        return {tuple(row) for row in cursor.fetchall()}


REPORT_FIELDS = (
    "origin_label",
    "dataset",
    "kind",
    "donor_id",
    "holder_id",
    "system_id",
    "family_id",
    "quantity_low",
    "quantity_high",
    "quantity_text",
    "date",
    "date_precision",
    "window_start",
    "window_end",
    "via_contract",
    "grade",
)


def flow_key(dataset: str, kind: str, donor_id: int | None, holder_id: int, system_id: int) -> str:
    return f"{dataset}|{kind}|{donor_id or ''}|{holder_id}|{system_id}"


LINK_COLUMNS = ("movement_id", "score", "decision", "decided_by", "decided_at", "reason")
ROW_COLUMNS = ("id", "origin_model", "origin_id", *REPORT_FIELDS, *LINK_COLUMNS)


class ReportRow:
    """A movement report as the matching reads and writes it: the stored row's values,
    without a model instance (a hundred thousand of them are read per full matching)."""

    __slots__ = ROW_COLUMNS

    def __init__(self, values: Iterable) -> None:
        for name, value in zip(ROW_COLUMNS, values, strict=True):
            setattr(self, name, value)

    @classmethod
    def new(cls, origin: Origin, fields: dict) -> ReportRow:
        return cls(
            (None, *origin, *(fields[name] for name in REPORT_FIELDS), None, None, "", "", None, "")
        )

    @property
    def pk(self) -> int | None:
        return self.id

    @property
    def flow_key(self) -> str:
        return flow_key(self.dataset, self.kind, self.donor_id, self.holder_id, self.system_id)


def report_rows(queryset) -> Iterator[ReportRow]:
    """The reports of a queryset as `ReportRow`s (the ORM's converters, no instances)."""
    for values in queryset.values_list(*ROW_COLUMNS):
        yield ReportRow(values)


def date_window(
    earliest: dt.date | None, latest: dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    """A report's window of days: its ledger row's interval (`core.values.date_interval`:
    "2023" is all of 2023). Open at either end ("on or before D", unknown): (None, None),
    which matches any date."""
    if earliest is None or latest is None:
        return None, None
    return earliest, latest


class Tree:
    """The catalogue's family tree, read once per matching run."""

    def __init__(self) -> None:
        # only variants have a parent: roots (most systems) are not read
        self.parents = dict(
            WeaponSystem.objects.filter(parent__isnull=False).values_list("pk", "parent_id")
        )

    def ancestors(self, pk: int) -> list[int]:
        """The system, then its parent, … up to the root."""
        chain, seen = [pk], {pk}
        node = self.parents.get(pk)
        while node is not None and node not in seen:
            chain.append(node)
            seen.add(node)
            node = self.parents.get(node)
        return chain

    def family(self, pk: int) -> int:
        return self.ancestors(pk)[-1]

    def related(self, left: int, right: int) -> float:
        """1: the same system; 0.65: one is a variant (at any depth) of the other; 0."""
        if left == right:
            return 1.0
        if left in self.ancestors(right) or right in self.ancestors(left):
            return 0.65
        return 0.0

    def deepest(self, ids: Iterable[int]) -> int:
        """The most specific of systems on one line of the tree."""
        return max(ids, key=lambda pk: (len(self.ancestors(pk)), pk))


# -- 1. reports, from the ledger ------------------------------------------------------------


def origin_filters(origins: Iterable[Origin]) -> Iterator[Q]:
    by_model: dict[str, list[int]] = defaultdict(list)
    for model, pk in origins:
        by_model[model].append(pk)
    for model, pks in by_model.items():
        for query in id_filters("origin_id", pks):
            yield Q(origin_model=model) & query


def _pairs_condition(pairs: list[Pair], holder: str) -> RawSQL:
    """(holder, system_id) IN (VALUES …): one condition for any number of pairs."""
    values = ", ".join(f"({int(h)}, {int(s)})" for h, s in pairs)
    return RawSQL(f"({holder}, system_id) IN (VALUES {values})", [], output_field=BooleanField())


def _touched_origins(pairs: list[Pair]) -> set[Origin]:
    """The origins with rows in these pairs, and the reports that had them (a constant
    number of queries per ten thousand pairs)."""
    origins: set[Origin] = set()
    for start in range(0, len(pairs), 10000):
        chunk = pairs[start : start + 10000]
        origins.update(
            LedgerEntry.objects.filter(_pairs_condition(chunk, "holder_id"), is_cancelled=False)
            .exclude(origin_model=MOVEMENT_ORIGIN)
            .order_by()  # the ledger's ordering joins names: not for a DISTINCT
            .values_list("origin_model", "origin_id")
            .distinct()
        )
        for holder in ("holder_id", "donor_id"):
            origins.update(
                MovementReport.objects.filter(_pairs_condition(chunk, holder))
                .order_by()
                .values_list("origin_model", "origin_id")
            )
    return origins


LEDGER_VALUES = (
    "kind", "holder_id", "system_id", "quantity_low", "quantity_high", "quantity_text", "date",
    "date_precision", "via_contract", "grade", "origin_label", "date_earliest", "date_latest",
)  # fmt: skip


def _report_values(origins: set[Origin], tree: Tree) -> dict[Origin, dict]:
    """What each origin reports, from its uncancelled ledger rows (none: not a report)."""
    rows_by_origin: dict[Origin, list[tuple]] = defaultdict(list)
    for query in origin_filters(origins):
        rows = (
            LedgerEntry.objects.filter(query, is_cancelled=False)
            .order_by()
            .values_list("origin_model", "origin_id", *LEDGER_VALUES)
        )
        for model, pk, *row in rows:
            rows_by_origin[(model, pk)].append(tuple(row))
    return _values_from_rows(rows_by_origin, tree)


def _values_from_rows(rows_by_origin: dict[Origin, list[tuple]], tree: Tree) -> dict[Origin, dict]:
    """What each origin reports, from its rows (`LEDGER_VALUES`)."""
    values: dict[Origin, dict] = {}
    for origin, rows in rows_by_origin.items():
        by_kind = {row[0]: row for row in rows}
        kind = next((KIND_OF_ROW[k] for k in KIND_OF_ROW if k in by_kind), None)
        if kind is None:
            continue  # a baseline: the latest one counts, reports of it never add up
        main = by_kind[next(k for k, v in KIND_OF_ROW.items() if v == kind)]
        (_, holder_id, system_id, low, high, text, date, precision, contract, grade, label) = main[
            :11
        ]
        donor_row = by_kind.get(DONOR_ROW.get(kind))
        start, end = date_window(*main[11:])
        values[origin] = {
            "origin_label": label,
            "kind": kind,
            "donor_id": donor_row[1] if donor_row else None,
            "holder_id": holder_id,
            "system_id": system_id,
            "family_id": tree.family(system_id),
            "quantity_low": low,
            "quantity_high": high,
            "quantity_text": text,
            "date": date,
            "date_precision": precision,
            "window_start": start,
            "window_end": end,
            "via_contract": contract,
            "grade": grade,
        }
    return values


def block_of(report) -> Block:
    return (report.kind, report.donor_id or 0, report.holder_id, report.family_id)


def reports_sync(
    origins: set[Origin], tree: Tree, *, analyze: bool = True, values: dict | None = None
) -> set[Block]:
    """Bring the reports of these origins in step with their ledger rows (`values`: what
    they report, when the caller has read them already); returns the blocks (before and
    after) whose matching must be recomputed."""
    if not origins:
        return set()
    if values is None:
        values = _report_values(origins, tree)
    by_model: dict[str, set[int]] = defaultdict(set)
    for model, pk in values:
        by_model[model].add(pk)
    datasets = origin_datasets(by_model)
    existing: dict[Origin, ReportRow] = {}
    for query in origin_filters(origins):
        for report in report_rows(MovementReport.objects.filter(query).order_by()):
            existing[(report.origin_model, report.origin_id)] = report
    blocks: set[Block] = {block_of(r) for r in existing.values()}
    new, changed = [], []
    for origin, fields in values.items():
        fields["dataset"] = datasets[origin]
        report = existing.pop(origin, None)
        if report is None:
            new.append(ReportRow.new(origin, fields))
            blocks.add(block_of(new[-1]))
            continue
        if any(getattr(report, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(report, name, value)
            changed.append(report)
        blocks.add(block_of(report))
    columns = ["origin_model", "origin_id", *REPORT_FIELDS, "decision", "decided_by", "reason"]
    rows_insert(
        MovementReport,
        columns,
        ((r.origin_model, r.origin_id, *(getattr(r, c) for c in columns[2:])) for r in new),
    )  # COPY on PostgreSQL: one statement whatever the number of reports
    if analyze and len(new) >= ANALYZE_AFTER:
        table_analyze(MovementReport)
    reports_update(changed, REPORT_FIELDS)
    gone = [report.pk for report in existing.values()]  # no longer reports
    for start in range(0, len(gone), 2000):
        MovementReport.objects.filter(pk__in=gone[start : start + 2000]).delete()
    return blocks


# -- 2. candidates, set-based ---------------------------------------------------------------

REPORT = MovementReport._meta.db_table


SYSTEM = WeaponSystem._meta.db_table


def candidates_sql(where: str) -> str:
    """Pairs of flows (dataset, kind, donor, holder, system) of different datasets in one
    block with overlapping date windows, scored: one self-join of the flows on the blocking
    key, with the same score as `pair_score` (system × date × quantity, rounded to four
    places) computed in the statement.

    The variants: each system of a family tree gets its path from the root ("/12/40/"), one
    recursive walk down the catalogue's variants; a system is the other's variant when its
    path starts with the other's. Siblings (neither's path a prefix of the other's) are no
    candidates, so they are left out in the join, before any score is computed. Each flow's
    key (`flow_key`) is built once per flow, not per pair. Engine-neutral SQL (PostgreSQL
    and SQLite)."""
    # PostgreSQL compares text by the database's collation; SQLite by bytes already
    binary = 'COLLATE "C"' if connection.vendor == "postgresql" else ""
    return f"""
    WITH RECURSIVE lineage (sys, path) AS (
        SELECT id, '/' || CAST(id AS TEXT) || '/' FROM {SYSTEM}
        WHERE parent_id IS NULL AND id IN (SELECT parent_id FROM {SYSTEM})
        UNION ALL
        SELECT w.id, l.path || CAST(w.id AS TEXT) || '/'
        FROM lineage l JOIN {SYSTEM} w ON w.parent_id = l.sys
    ),
    grouped AS (
        SELECT dataset, kind, COALESCE(donor_id, 0) AS donor, holder_id AS holder,
               family_id AS family, system_id AS sys,
               MAX(CASE WHEN window_start IS NULL THEN 1 ELSE 0 END) AS open_,
               MIN(window_start) AS ws, MAX(window_end) AS we,
               SUM(quantity_low) AS lo,
               CASE WHEN COUNT(quantity_high) = COUNT(*) THEN SUM(quantity_high) END AS hi
        FROM {REPORT}
        WHERE {where}
        GROUP BY dataset, kind, COALESCE(donor_id, 0), holder_id, family_id, system_id
    ),
    flows AS (
        SELECT g.*, l.path,
               g.dataset || '|' || g.kind || '|'
               || CASE WHEN g.donor = 0 THEN '' ELSE CAST(g.donor AS TEXT) END || '|'
               || CAST(g.holder AS TEXT) || '|' || CAST(g.sys AS TEXT) AS fkey
        FROM grouped g LEFT JOIN lineage l ON l.sys = g.sys
    ),
    pairs AS (
        SELECT a.kind, a.donor, a.holder, a.family, a.fkey AS key_a, b.fkey AS key_b,
               -- system × date, in hundredths each: 1 or 0.65 (a variant), 1 or 0.95 (open)
               CASE WHEN a.sys = b.sys THEN 100 ELSE 65 END
             * CASE WHEN a.open_ = 1 OR b.open_ = 1 THEN 95 ELSE 100 END AS sd,
               -- quantity: 1 when the ranges overlap (NULL here), else 0.6 + 0.4 × the ratio
               -- of the nearer bounds, in exact decimals
               CASE WHEN a.lo <= b.lo AND a.hi < b.lo THEN 0.6 + 0.4 * a.hi / b.lo
                    WHEN b.lo < a.lo AND b.hi < a.lo THEN 0.6 + 0.4 * b.hi / a.lo
               END AS q
        FROM flows a JOIN flows b
          ON b.holder = a.holder AND b.family = a.family AND b.donor = a.donor
         AND b.kind = a.kind AND a.dataset < b.dataset
        WHERE (a.open_ = 1 OR b.open_ = 1 OR (a.ws <= b.we AND b.ws <= a.we))
          -- the same system, or one a variant of the other (siblings are no candidates)
          AND (a.sys = b.sys OR b.path LIKE a.path || '%%' OR a.path LIKE b.path || '%%')
    )
    SELECT kind, donor, holder, family, key_a, key_b, score,
           CASE WHEN score >= {AUTO_THRESHOLD} THEN 'auto'
                WHEN score >= {REVIEW_THRESHOLD} THEN 'review' ELSE 'none' END AS verdict
    FROM (
        -- the two keys in Python's order of strings (code points: the bytes of UTF-8),
        -- whatever the database's collation
        SELECT kind, donor, holder, family,
               CASE WHEN key_a {binary} < key_b {binary} THEN key_a ELSE key_b END AS key_a,
               CASE WHEN key_a {binary} < key_b {binary} THEN key_b ELSE key_a END AS key_b,
               CASE WHEN q IS NULL THEN sd / 10000.0
                    ELSE CAST(ROUND(CAST(sd * q AS NUMERIC) / 10000, 4) AS DOUBLE PRECISION)
               END AS score
        FROM pairs
    ) scored
    """


# The candidates' statement on PostgreSQL: its estimates of the grouped flows are rough (a
# CTE joined to a recursive one), so with the defaults it sorts both sides of the self-join
# and spills them to disk where hashing in memory is cheaper, or JIT-compiles for longer
# than it runs. Set around the statement only (`_statement_settings`).
CANDIDATES_SETTINGS = {"work_mem": "64MB", "jit": "off", "enable_mergejoin": "off"}


@contextmanager
def _statement_settings(cursor, settings: dict[str, str]) -> Iterator[None]:
    """PostgreSQL settings for the statements inside, restored after (other engines: none).
    Local to the transaction (`set_config(…, true)`): use inside one."""
    if connection.vendor != "postgresql":
        yield
        return
    names = list(settings)

    def apply(values: dict[str, str]) -> None:
        cursor.execute(
            "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
            [value for name in names for value in (name, values[name])],
        )

    cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
    before = dict(zip(names, cursor.fetchone(), strict=True))
    apply(settings)
    try:
        yield
    finally:
        apply(before)


SMALL_BLOCKS = 100


def _blocks_where(blocks: list[Block] | None, alias: str = "") -> tuple[str, list]:
    """A WHERE condition selecting the rows (reports, movements, decisions) of these blocks.
    None: every block (the full matching reads whole tables). A few blocks (one write's):
    one indexed lookup each (`report_block_idx`, `movement_block_idx`); many: one hashed
    semi-join on the blocking key."""
    a = f"{alias}." if alias else ""
    if blocks is None:
        return "1 = 1", []
    if len(blocks) <= SMALL_BLOCKS:
        terms, params = [], []
        for kind, donor, holder, family in blocks:
            donor_sql = f"{a}donor_id = %s" if donor else f"{a}donor_id IS NULL"
            terms.append(
                f"({a}kind = %s AND {a}holder_id = %s AND {a}family_id = %s AND {donor_sql})"
            )
            params.extend([kind, holder, family, *([donor] if donor else [])])
        return "(" + " OR ".join(terms) + ")", params
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(blocks))
    params = [value for block in blocks for value in block]
    key = f"({a}kind, COALESCE({a}donor_id, 0), {a}holder_id, {a}family_id)"
    return f"{key} IN (VALUES {rows})", params


def _chunks(blocks: list[Block] | None, size: int = 5000) -> Iterator[list[Block] | None]:
    """The blocks in chunks of `size` (None, every block: one chunk)."""
    if blocks is None:
        yield None
        return
    for start in range(0, len(blocks), size):
        yield blocks[start : start + size]


def table_analyze(model) -> None:
    """Refresh PostgreSQL's statistics of a table that just grew by many rows in this
    transaction (autovacuum has not seen them: the planner would take it for empty and
    join it row by row)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def blocks_q(blocks: list[Block]) -> Q:
    query = Q(pk__in=[])
    for kind, donor, holder, family in blocks:
        donor_q = Q(donor_id=donor) if donor else Q(donor_id__isnull=True)
        query |= Q(kind=kind, holder_id=holder, family_id=family) & donor_q
    return query


Candidate = tuple[str, int, int, int, str, str, float, str]


def candidate_pairs(blocks: list[Block] | None) -> list[Candidate]:
    """The candidate pairs of flows in these blocks (None: all), scored and decided, as the
    statement returns them: (kind, donor, holder, family — the block —, flow key, flow key
    in Python's order, score, verdict: "auto", "review" or "none")."""
    found: list[Candidate] = []
    with (
        transaction.atomic(savepoint=False),  # the settings' transaction, no savepoint
        connection.cursor() as cursor,
        _statement_settings(cursor, CANDIDATES_SETTINGS),
    ):
        for chunk in _chunks(blocks):
            where, params = _blocks_where(chunk)
            cursor.execute(candidates_sql(where), params)
            found += cursor.fetchall()
    return found


# -- 3. scores ------------------------------------------------------------------------------


def quantity_score(left: Range, right: Range) -> Decimal:
    """1 when the ranges overlap; 0.6 + 0.4 × (nearer bounds' ratio) when disjoint. Exact
    decimals, as the candidates' statement computes it on PostgreSQL."""
    if left.low > right.low:
        left, right = right, left
    if left.high is None or left.high >= right.low:
        return Decimal(1)
    return Decimal("0.6") + Decimal("0.4") * left.high / right.low


def pair_score(a: Flow, b: Flow, tree: Tree) -> float:
    """The score of a pair of flows (system × date × quantity, to four places, halves
    rounded up): the same as `candidates_sql` computes in the database (on SQLite, which
    computes in floating point, a score may differ from this in the fourth place)."""
    system = Decimal(str(tree.related(a.system_id, b.system_id)))
    date = Decimal(1) if a.window is not None and b.window is not None else Decimal("0.95")
    score = system * date * quantity_score(a.total, b.total)
    return float(score.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


# -- 4. movements ---------------------------------------------------------------------------


@dataclass
class Edge:
    a: str
    b: str
    score: float
    status: str  # auto or confirmed


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def cluster(
    flows: dict[str, Flow],
    edges: list[Edge],
    decisions: dict[tuple[str, str], str],
    tree: Tree,
) -> list[list[str]]:
    """Greedy merging of accepted pairs into movements (see the module docstring)."""
    group = {key: frozenset([key]) for key in flows}

    def compatible(x: str, y: str) -> bool:
        decided = decisions.get(_ordered(x, y))
        if decided == MatchStatus.REJECTED:
            return False
        if flows[x].dataset == flows[y].dataset:
            return False
        if decided == MatchStatus.CONFIRMED:
            return True
        return bool(
            windows_overlap(flows[x].window, flows[y].window)
            and tree.related(flows[x].system_id, flows[y].system_id)
        )

    order = sorted(edges, key=lambda e: (e.status != MatchStatus.CONFIRMED, -e.score, e.a, e.b))
    for edge in order:
        left, right = group[edge.a], group[edge.b]
        if left is right or left == right:
            continue
        if all(compatible(x, y) for x in left for y in right):
            merged = left | right
            for key in merged:
                group[key] = merged
    clusters = {members for members in group.values() if len(members) > 1}
    return sorted(sorted(members) for members in clusters)


def _label(movement: Movement, flows: list[Flow], names: dict) -> str:
    reports = sum(len(f.reports) for f in flows)
    flag = ", conflict" if movement.conflict else ""
    donor = f"{names['party'].get(movement.donor_id)} → " if movement.donor_id else ""
    return (
        f"Movement #{movement.pk} ({movement.get_kind_display().split(' (')[0].lower()}): "
        f"{donor}{names['party'].get(movement.holder_id)}: "
        f"{names['system'].get(movement.system_id)} ({movement.quantity_display}{flag}), "
        f"{reports} reports from {len(flows)} datasets"
    )[:300]


def _movement_values(flows: list[Flow], tree: Tree) -> dict:
    reconciled, conflict = reconcile([f.total for f in flows])
    first = flows[0]
    reports = [r for f in flows for r in f.reports]
    dated = [r for r in reports if r.window_start is not None]
    return {
        "kind": first.kind,
        "donor_id": first.donor_id,
        "holder_id": first.holder_id,
        "family_id": first.family_id,
        "system_id": tree.deepest(f.system_id for f in flows),
        "date_earliest": min((r.window_start for r in dated), default=None),
        "date_latest": max((r.window_end for r in dated), default=None),
        "quantity_low": reconciled.low,
        "quantity_high": reconciled.high,
        "best_grade": min((r.grade for r in reports if r.grade), default=""),
        "conflict": conflict,
        "dataset_count": len(flows),
        "report_count": len(reports),
    }


def match_blocks(blocks: set[Block] | None, tree: Tree | None = None) -> dict[str, int]:
    """Recompute the movements of these blocks (None: every block) from their reports and
    the editors' decisions: create, update or delete movements, link the reports, supersede
    their ledger rows, post the movements' rows, refresh the review queue."""
    old_editions = superseded_editions()
    selected = None if blocks is None else sorted(set(blocks) | _blocks_to_leave(old_editions))
    if selected is not None and not selected:
        return {"movements": 0, "pending": 0}
    tree = tree or Tree()
    now = timezone.now()
    with transaction.atomic():
        reports_by_block: dict[Block, list[ReportRow]] = defaultdict(list)
        movements_by_block: dict[Block, list[Movement]] = defaultdict(list)
        decisions: dict[tuple[str, str], MatchDecision] = {}
        decision_blocks: set[Block] = set()
        for chunk in _chunks(selected):
            for model, order, target in (
                (MovementReport, ("origin_model", "origin_id"), "report"),
                (Movement, ("id",), "movement"),
                (MatchDecision, ("id",), "decision"),
            ):
                where, params = _blocks_where(chunk, alias=model._meta.db_table)
                queryset = model.objects.extra(where=[where], params=params).order_by(*order)
                rows = report_rows(queryset) if target == "report" else queryset
                for row in rows:
                    if target == "report":
                        reports_by_block[block_of(row)].append(row)
                    elif target == "movement":
                        movements_by_block[block_of(row)].append(row)
                    else:
                        decisions[(row.flow_a, row.flow_b)] = row
                        decision_blocks.add(block_of(row))
        decided_pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for pair in decisions:
            decided_pairs[pair[0]].append(pair)
        blocks_list = (
            selected
            if selected is not None
            else sorted(set(reports_by_block) | set(movements_by_block) | decision_blocks)
        )
        names = _names(reports_by_block)
        candidates: dict[Block, list[tuple[str, str, float, str]]] = defaultdict(list)
        for kind, donor, holder, family, a, b, score, verdict in candidate_pairs(selected):
            candidates[(kind, donor, holder, family)].append((a, b, score, verdict))

        posts: dict[Origin, list[EntrySpec]] = {}
        link_updates: list[ReportRow] = []
        pending_wanted: dict[tuple[str, str], tuple[Block, float, str, str]] = {}
        created: list[Movement] = []
        changed: list[Movement] = []
        gone: list[Movement] = []
        plans: list[tuple[Movement, list[Flow], list[Edge]]] = []
        for block in blocks_list:
            flows: dict[str, Flow] = {}
            for report in reports_by_block.get(block, []):
                if report.dataset in old_editions:  # a newer edition says it: left out
                    _link(report, SUPERSEDED_EDITION, now, link_updates)
                    continue
                key = report.flow_key
                if key not in flows:
                    flows[key] = Flow(
                        key=key,
                        dataset=report.dataset,
                        kind=report.kind,
                        donor_id=report.donor_id,
                        holder_id=report.holder_id,
                        system_id=report.system_id,
                        family_id=report.family_id,
                    )
                flows[key].reports.append(report)
            statuses = {  # the decided pairs of these flows (looked up by flow, not scanned)
                pair: decisions[pair].status
                for key in flows
                for pair in decided_pairs.get(key, ())
                if pair[0] in flows and pair[1] in flows
            }
            edges: list[Edge] = []
            for a, b, score, verdict in candidates.get(block, []):
                if a not in flows or b not in flows:  # e.g. a superseded edition's
                    continue
                status = statuses.get((a, b))
                if status == MatchStatus.REJECTED:
                    continue
                if status == MatchStatus.CONFIRMED:
                    edges.append(Edge(a, b, score, MatchStatus.CONFIRMED))
                elif verdict == "auto":
                    edges.append(Edge(a, b, score, MatchStatus.AUTO))
                elif verdict == "review":
                    pending_wanted[(a, b)] = (
                        block,
                        score,
                        flows[a].reports[0].origin_label,
                        flows[b].reports[0].origin_label,
                    )
            for (a, b), status in statuses.items():  # confirmed pairs that are no candidates
                if status == MatchStatus.CONFIRMED and not any(
                    e.a == a and e.b == b for e in edges
                ):
                    edges.append(Edge(a, b, pair_score(flows[a], flows[b], tree), status))
            groups = cluster(flows, edges, statuses, tree)

            # reuse the movement that already has exactly these flows, else one sharing a flow
            existing = movements_by_block.get(block, [])
            current_keys: dict[int, set[str]] = defaultdict(set)
            for flow in flows.values():
                for report in flow.reports:
                    if report.movement_id is not None:
                        current_keys[report.movement_id].add(flow.key)
            unused = {m.pk: m for m in existing}
            chosen: list[tuple[list[str], Movement | None]] = []
            for keys in groups:
                match = next((pk for pk in unused if current_keys.get(pk) == set(keys)), None)
                chosen.append((keys, unused.pop(match) if match is not None else None))
            for index, (keys, movement) in enumerate(chosen):
                if movement is None:
                    shared = next(
                        (pk for pk in sorted(unused) if current_keys.get(pk, set()) & set(keys)),
                        None,
                    )
                    if shared is not None:
                        chosen[index] = (keys, unused.pop(shared))
            for pk, movement in sorted(unused.items()):  # no longer a movement
                posts[(MOVEMENT_ORIGIN, pk)] = []
                gone.append(movement)
            for keys, movement in chosen:
                members = [flows[k] for k in keys]
                values = _movement_values(members, tree)
                if movement is None:
                    movement = Movement(**values)
                    created.append(movement)
                elif any(getattr(movement, name) != value for name, value in values.items()):
                    for name, value in values.items():
                        setattr(movement, name, value)
                    changed.append(movement)
                plans.append((movement, members, edges))
            for key, flow in flows.items():
                if key not in {k for keys, _ in chosen for k in keys}:
                    for report in flow.reports:
                        _link(
                            report,
                            {"movement_id": None, "score": None, "decision": "", "reason": ""},
                            now,
                            link_updates,
                        )

        # the movements' writes, in bulk, with their history
        for movement in gone:
            tracked_delete(movement)
        tracked_bulk_create(Movement, created)
        if changed:
            tracked_bulk_update(Movement, changed, MOVEMENT_FIELDS)
        for movement, members, edges in plans:
            reconciled = Range(movement.quantity_low, movement.quantity_high)
            posts[(MOVEMENT_ORIGIN, movement.pk)] = movement_entries(
                kind=movement.kind,
                donor_id=movement.donor_id,
                holder_id=movement.holder_id,
                system_id=movement.system_id,
                flows=members,
                reconciled=reconciled,
                conflict=movement.conflict,
                grade=movement.best_grade,
                label=_label(movement, members, names),
            )
            for flow in members:
                touching = [e for e in edges if flow.key in (e.a, e.b)]
                confirmed = any(e.status == MatchStatus.CONFIRMED for e in touching)
                # the best pair, ties by key (the candidates come in no set order)
                best = min(touching, key=lambda e: (-e.score, e.a, e.b), default=None)
                other = None
                if best is not None:
                    other_key = best.b if best.a == flow.key else best.a
                    other = next((f.dataset for f in members if f.key == other_key), None)
                link = {
                    "movement_id": movement.pk,
                    "score": best.score if best else None,
                    "decision": MatchStatus.CONFIRMED if confirmed else MatchStatus.AUTO,
                    "reason": (
                        f"matched {other} (score {best.score:.2f})"
                        if best and other
                        else "confirmed"
                    ),
                }
                for report in flow.reports:
                    _link(report, link, now, link_updates)
        links_write(link_updates)
        # the reports leave the count at the moment the movements' rows enter it
        stale = supersede_blocks(selected, old_editions, now=now)
        ledger_post(posts, now=now)
        estimates_mark_stale(stale)
        pending = _review_queue(blocks_list, decisions, pending_wanted)
    return {"movements": len(created) + len(changed) + len(gone), "pending": pending}


SUPERSEDED_EDITION = {
    "movement_id": None,
    "score": None,
    "decision": "",
    "reason": "left out: a newer edition of the same register reports it",
}

MOVEMENT_FIELDS = [
    "kind",
    "donor",
    "holder",
    "system",
    "family",
    "date_earliest",
    "date_latest",
    "quantity_low",
    "quantity_high",
    "best_grade",
    "conflict",
    "dataset_count",
    "report_count",
]


def links_write(reports: list[ReportRow]) -> None:
    """Write the links of these reports (movement, score, decision, who, when, why)."""
    reports_update(reports, LINK_COLUMNS)


def reports_update(reports: list[ReportRow], columns: Iterable[str]) -> None:
    """Write these columns of these stored reports: COPY into a temporary table and one
    UPDATE … FROM it on PostgreSQL, one executemany elsewhere (a bulk_update's CASE per
    field is quadratic)."""
    if not reports:
        return
    columns = list(columns)
    table = connection.ops.quote_name(REPORT)
    rows = [(r.pk, *(getattr(r, c) for c in columns)) for r in reports]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(columns)
            cursor.execute("DROP TABLE IF EXISTS pg_temp.stock_report_rows")
            cursor.execute(
                f"CREATE TEMPORARY TABLE stock_report_rows ON COMMIT DROP AS "
                f"SELECT id, {names} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY stock_report_rows (id, {names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if len(rows) >= ANALYZE_AFTER:
                cursor.execute("ANALYZE stock_report_rows")
            sets = ", ".join(f"{c} = v.{c}" for c in columns)
            cursor.execute(
                f"UPDATE {table} AS t SET {sets} FROM stock_report_rows v WHERE t.id = v.id"
            )
            cursor.execute("DROP TABLE pg_temp.stock_report_rows")
        else:
            fields = [MovementReport._meta.get_field(c) for c in columns]
            sets = ", ".join(f"{f.column} = %s" for f in fields)
            cursor.executemany(
                f"UPDATE {table} SET {sets} WHERE id = %s",
                [
                    (
                        *(
                            f.get_db_prep_save(v, connection)
                            for f, v in zip(fields, row[1:], strict=True)
                        ),
                        row[0],
                    )
                    for row in rows
                ],
            )


def supersede_blocks(
    blocks: list[Block] | None, old_editions: list[str] = (), *, now=None
) -> set[Pair]:
    """Flag the uncancelled ledger rows of the reports of these blocks (None: all) that are
    in a movement, or of a superseded edition, as superseded; unflag the others: one
    statement per chunk of blocks. Each flip is dated (`LedgerSupersession`: an interval
    opened for a row superseded, closed for one restored, at `now`), so an estimate as known
    at a moment counts the reports as they were grouped then. Returns the pairs whose rows
    changed (their estimates are stale)."""
    ledger = LedgerEntry._meta.db_table
    now = now or timezone.now()
    stale: set[Pair] = set()
    superseded: list[int] = []
    restored: list[int] = []
    old_sql = "false"
    if old_editions:
        old_sql = "r.dataset IN (" + ", ".join(["%s"] * len(old_editions)) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(blocks):
            where, params = _blocks_where(chunk, alias="r")
            params = [*params, *old_editions]
            cursor.execute(
                f"""UPDATE {ledger} SET is_superseded = NOT is_superseded
                WHERE is_cancelled = false AND id IN (
                    SELECT l.id FROM {ledger} l JOIN {REPORT} r
                      ON r.origin_model = l.origin_model AND r.origin_id = l.origin_id
                    WHERE l.is_cancelled = false AND {where}
                      AND l.is_superseded <> (r.movement_id IS NOT NULL OR {old_sql}))
                RETURNING id, holder_id, system_id, is_superseded""",
                params,
            )
            for pk, holder_id, system_id, flag in cursor.fetchall():
                stale.add((holder_id, system_id))
                (superseded if flag else restored).append(pk)
    supersessions_record(superseded, restored, now)
    return stale


def supersessions_record(superseded: list[int], restored: list[int], now) -> None:
    """Open a supersession interval at `now` for each row just superseded, close the open
    one of each row just restored."""
    rows_insert(
        LedgerSupersession,
        ["entry_id", "superseded_at", "restored_at"],
        ((pk, now, None) for pk in sorted(superseded)),
    )
    for query in id_filters("entry_id", restored):
        LedgerSupersession.objects.filter(query, restored_at__isnull=True).update(restored_at=now)


def _names(reports_by_block: dict) -> dict[str, dict[int, str]]:
    """Names of the parties and systems of these reports, for the movements' labels."""
    from inventory.models import Country

    parties, systems = set(), set()
    for reports in reports_by_block.values():
        for report in reports:
            parties.update({report.holder_id, report.donor_id} - {None})
            systems.add(report.system_id)
    return {
        "party": dict(Country.objects.filter(pk__in=parties).values_list("pk", "name")),
        "system": dict(WeaponSystem.objects.filter(pk__in=systems).values_list("pk", "name")),
    }


def _link(report: ReportRow, link: dict, now, updates: list) -> None:
    if all(getattr(report, name) == value for name, value in link.items()):
        return
    for name, value in link.items():
        setattr(report, name, value)
    report.decided_by = "matching" if link["movement_id"] else ""
    report.decided_at = now if link["movement_id"] else None
    updates.append(report)


def _review_queue(blocks, decisions, wanted) -> int:
    """Keep the pending pairs of these blocks in step with the uncertain candidates; an
    editor's decision (confirmed, rejected) stays whatever happens."""
    stale = [
        d.pk
        for pair, d in decisions.items()
        if d.status == MatchStatus.PENDING and pair not in wanted
    ]
    MatchDecision.objects.filter(pk__in=stale).delete()
    new = []
    for (a, b), (block, score, label_a, label_b) in sorted(wanted.items()):
        decision = decisions.get((a, b))
        if decision is not None:
            if decision.status == MatchStatus.PENDING and decision.score != score:
                decision.score = score
                decision.save(update_fields=["score"])
            continue
        kind, donor, holder, family = block
        new.append(
            MatchDecision(
                flow_a=a,
                flow_b=b,
                label_a=label_a[:300],
                label_b=label_b[:300],
                kind=kind,
                donor_id=donor or None,
                holder_id=holder,
                family_id=family,
                score=score,
            )
        )
    MatchDecision.objects.bulk_create(new)
    return len(new)


# -- entry points ---------------------------------------------------------------------------


def movements_match(pairs: Iterable[Pair], *, chunk_size: int = 5000) -> dict[str, int]:
    """Match the reports that have ledger rows in these holder × system pairs (what a write
    just touched): sync them, recompute their blocks. Safe to run twice.

    Memory stays flat in the number of pairs (a bulk import touches tens of thousands):
    the reports are synced `chunk_size` origins at a time (found `chunk_size` pairs at a
    time), then the blocks they are in are matched `chunk_size` blocks at a time. Every report is synced before any block is
    matched, and each block is matched from everything stored in it, so the result is the
    same as one pass over all of them."""
    pairs = sorted({(int(h), int(s)) for h, s in pairs})
    if not pairs:
        return {"movements": 0, "pending": 0}
    tree = Tree()
    with transaction.atomic():
        blocks: set[Block] = set()
        origins = 0
        for start in range(0, len(pairs), chunk_size):
            touched = sorted(_touched_origins(pairs[start : start + chunk_size]))
            origins += len(touched)
            for first in range(0, len(touched), chunk_size):  # a pair may have many
                blocks |= reports_sync(
                    set(touched[first : first + chunk_size]), tree, analyze=False
                )
            del touched
        if origins >= ANALYZE_AFTER:
            table_analyze(MovementReport)
        # more reports than one chunk: blocks weighed by their reports (one query)
        return _match_blocks_chunked(blocks, tree, chunk_size, weigh=origins > chunk_size)


def _match_blocks_chunked(
    blocks: set[Block], tree: Tree, chunk_size: int, *, weigh: bool
) -> dict[str, int]:
    """`match_blocks` over these blocks in block order, `chunk_size` blocks at a time or,
    when `weigh`, about `chunk_size` reports at a time (blocks differ in size: a block of
    Oryx's losses may hold thousands of reports, a SIPRI deal's one or two; a block is
    never split). A write's few blocks: one call, no query more."""
    ordered = sorted(blocks)
    if not weigh and len(ordered) <= chunk_size:
        return match_blocks(set(ordered), tree)
    sizes: dict[Block, int] = {}
    if weigh:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT kind, COALESCE(donor_id, 0), holder_id, family_id, COUNT(*) "
                f"FROM {REPORT} GROUP BY kind, COALESCE(donor_id, 0), holder_id, family_id"
            )
            sizes = {tuple(row[:4]): row[4] for row in cursor.fetchall()}
    totals = {"movements": 0, "pending": 0}
    chunk: list[Block] = []
    weight = 0
    for index, block in enumerate(ordered):
        chunk.append(block)
        weight += sizes.get(block, 1)
        if weight >= chunk_size or len(chunk) >= chunk_size or index == len(ordered) - 1:
            result = match_blocks(set(chunk), tree)
            for name in totals:
                totals[name] += result[name]
            chunk, weight = [], 0
    return totals


def movements_rematch_lineage(system_id: int) -> dict[str, int]:
    """A system moved in the catalogue's tree (its family changed): the reports of it and
    of its variants are derived again (their family, so their block) and the blocks they
    leave and join are matched again, in the caller's transaction, so an editor who makes
    "M777A2" a variant of the M777 sees its losses meet the M777s' deliveries at once."""
    tree = Tree()
    children: dict[int, list[int]] = defaultdict(list)
    for child, parent in tree.parents.items():
        children[parent].append(child)
    subtree, stack = set(), [system_id]
    while stack:
        node = stack.pop()
        if node not in subtree:
            subtree.add(node)
            stack.extend(children.get(node, []))
    with transaction.atomic():
        origins = set(
            LedgerEntry.objects.filter(system_id__in=subtree, is_cancelled=False)
            .exclude(origin_model=MOVEMENT_ORIGIN)
            .order_by()
            .values_list("origin_model", "origin_id")
            .distinct()
        )
        origins |= set(
            MovementReport.objects.filter(system_id__in=subtree)
            .order_by()
            .values_list("origin_model", "origin_id")
        )
        return match_blocks(reports_sync(origins, tree), tree)


def movements_match_all(*, chunk_size: int = 5000) -> dict[str, int]:
    """Re-derive every report from the ledger and recompute every block (after a full
    ledger rebuild, or to apply new thresholds)."""
    tree = Tree()
    with transaction.atomic():
        # every origin's rows, read once in origin order, a chunk of origins at a time
        rows = (
            LedgerEntry.objects.filter(is_cancelled=False)
            .exclude(origin_model=MOVEMENT_ORIGIN)
            .order_by("origin_model", "origin_id")
            .values_list("origin_model", "origin_id", *LEDGER_VALUES)
            .iterator(chunk_size=chunk_size)
        )
        seen: set[Origin] = set()
        chunk: dict[Origin, list[tuple]] = {}

        def sync(chunk: dict[Origin, list[tuple]]) -> None:
            seen.update(chunk)
            values = _values_from_rows(chunk, tree)
            reports_sync(set(chunk), tree, analyze=False, values=values)

        for model, pk, *row in rows:
            origin = (model, pk)
            if origin not in chunk and len(chunk) >= chunk_size:
                sync(chunk)
                chunk = {}
            chunk.setdefault(origin, []).append(tuple(row))
        sync(chunk)
        # reports whose origin has no row left
        gone = sorted(
            set(MovementReport.objects.order_by().values_list("origin_model", "origin_id")) - seen
        )
        for start in range(0, len(gone), chunk_size):
            reports_sync(set(gone[start : start + chunk_size]), tree, analyze=False)
        table_analyze(MovementReport)
        return match_blocks(None, tree)
