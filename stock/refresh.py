"""Set-based refresh of the stock estimates from the ledger.

One SQL statement (`_system_select`) computes the estimates of many holder × system pairs
(or, summing their members' flows, of many holder × family pairs) at once, following
`stock.estimates` exactly (a property test holds the two together). It
runs on PostgreSQL and SQLite. The refresh writes its results with one
`INSERT … SELECT … ON CONFLICT DO UPDATE` per scope inside one transaction, so a refresh that
dies halfway leaves the previous estimates in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from inventory.models import WeaponSystem
from stock.choices import EstimateScope
from stock.freshness import estimates_changed_on_commit
from stock.models import (
    COUNTED_KNOWN_AT_SQL,
    COUNTED_SQL,
    LedgerEntry,
    StaleEstimate,
    StockEstimate,
)
from stock.movements import conflicts_flag

Pair = tuple[int, int]

VALUE_COLUMNS = [
    "baseline_low",
    "baseline_high",
    "baseline_date",
    "has_baseline",
    "received_low",
    "received_high",
    "sent_low",
    "sent_high",
    "expended_low",
    "expended_high",
    "on_hand_low",
    "on_hand_high",
    "incoming_low",
    "incoming_high",
    "outgoing_low",
    "outgoing_high",
    "projected_low",
    "projected_high",
    "inconsistent",
    "best_grade",
    "weakest_grade",
    "record_count",
    "unsourced_count",
]

LEDGER = LedgerEntry._meta.db_table
ESTIMATE = StockEstimate._meta.db_table


def _pairs_sql(pairs: Sequence[Pair], left: str = "holder_id", right: str = "system_id") -> str:
    """`(holder_id, system_id) IN (VALUES …)` for integer pairs (inlined: ids are ints)."""
    values = ", ".join(f"({int(h)}, {int(s)})" for h, s in pairs)
    return f"({left}, {right}) IN (VALUES {values})"


def pairs_condition(pairs: Sequence[Pair]) -> RawSQL:
    """A queryset filter keeping rows whose (holder_id, system_id) is one of `pairs`: the
    same VALUES list the refresh statements use, for tables with both columns."""
    return RawSQL(_pairs_sql(pairs) if pairs else "1 = 0", [], output_field=BooleanField())


def _ids_sql(column: str, ids: Iterable[int]) -> str:
    return f"{column} IN ({', '.join(str(int(i)) for i in ids)})"


def _system_select(where: str, lineage: Sequence[Pair] = (), *, known_at: bool = False) -> str:
    """SELECT of the estimate columns for the pairs whose ledger rows `where` keeps: system
    scope, or with `lineage` ((ancestor, descendant) pairs) family scope, where each
    member's flows are summed per family before the arithmetic (rule 8). `known_at`: the
    rows counted as the database knew them at the `known_at` parameter."""
    counted = COUNTED_KNOWN_AT_SQL if known_at else COUNTED_SQL

    # Rule 2: how a row counts. r.de..r.dl are its first and last possible days, b.de..b.dl
    # the baseline's; b.de is NULL when the pair has no baseline.
    absorbed = "(b.de IS NOT NULL AND r.dl <= b.de)"
    after = "(b.de IS NULL OR r.de > b.dl)"
    by_then = "r.dl <= %(as_of)s"

    def agg(name: str, cond: str, sure: str) -> str:
        """Low sum (rows that surely count), high sum and count of unbounded highs (rows that
        may count) of one class of movements."""
        return (
            f"SUM(CASE WHEN {cond} AND {sure} THEN r.lo ELSE 0 END) AS {name}_lo, "
            f"SUM(CASE WHEN {cond} THEN r.hi ELSE 0 END) AS {name}_hi, "
            f"SUM(CASE WHEN {cond} AND r.hi IS NULL THEN 1 ELSE 0 END) AS {name}_unb"
        )

    def stock(kinds: str) -> tuple[str, str]:
        return f"r.kind IN ({kinds}) AND NOT {absorbed}", f"{after} AND {by_then}"

    def total_hi(name: str) -> str:
        return f"CASE WHEN {name}_unb > 0 THEN NULL ELSE {name}_hi END"

    ledger = f"""
        SELECT id, holder_id, system_id, kind, quantity_low AS lo, quantity_high AS hi,
               COALESCE(date_earliest, '0001-01-01') AS de,
               COALESCE(date_latest, %(today)s) AS dl,
               COALESCE(date, '0001-01-01') AS d, via_contract, grade
        FROM {LEDGER}
        WHERE {counted} AND (date_earliest IS NULL OR date_earliest <= %(as_of)s)
          AND {where}"""
    classes = ["rec", "snt", "exp", "pin", "pout", "ord", "con"]
    if lineage:
        values = ", ".join(f"({int(a)}, {int(d)})" for a, d in lineage)
        family = "lineage (ancestor_id, descendant_id) AS (VALUES " + values + "),"
        sums_of = "fsums"

        def fsum(name: str) -> str:
            return (
                f"SUM({name}_lo) AS {name}_lo, SUM({name}_hi) AS {name}_hi, "
                f"SUM({name}_unb) AS {name}_unb"
            )

        family_sums = f""",
    fsums AS (
        SELECT s.holder_id, l.ancestor_id AS system_id,
               MIN(has_base) AS has_base, SUM(COALESCE(b_lo, 0)) AS b_lo,
               CASE WHEN SUM(CASE WHEN has_base = 1 AND b_hi IS NULL THEN 1 ELSE 0 END) > 0
                    THEN NULL ELSE SUM(b_hi) END AS b_hi,
               MAX(b_d) AS b_d,
               {", ".join(fsum(name) for name in classes)},
               MIN(best) AS best, MAX(weakest) AS weakest,
               SUM(n_rows) AS n_rows, SUM(n_unsourced) AS n_unsourced
        FROM sums s JOIN lineage l ON l.descendant_id = s.system_id
        GROUP BY s.holder_id, l.ancestor_id
    )"""
    else:
        family, sums_of, family_sums = "", "sums", ""
    # The ledger is read twice (the baselines, then everything) rather than through one
    # materialized CTE: each read streams from the table and its pair index. The arithmetic
    # steps are materialized on PostgreSQL, which would otherwise inline each step into the
    # next and evaluate the nested expressions many times per row.
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    return f"""
    WITH {family} rows_ AS ({ledger}),
    base AS (
        SELECT holder_id, system_id, lo, hi, de, dl, d,
               ROW_NUMBER() OVER (PARTITION BY holder_id, system_id ORDER BY de DESC, id DESC)
                 AS rn
        FROM ({ledger} AND kind = 'baseline') baselines
    ),
    sums AS (
        SELECT r.holder_id, r.system_id,
               MAX(CASE WHEN b.de IS NULL THEN 0 ELSE 1 END) AS has_base,
               MAX(b.lo) AS b_lo, MAX(b.hi) AS b_hi,
               MAX(CASE WHEN b.d > '0001-01-01' THEN b.d ELSE NULL END) AS b_d,
               {agg("rec", *stock("'received', 'produced'"))},
               {agg("snt", *stock("'sent'"))},
               {agg("exp", *stock("'expended'"))},
               {agg("pin", "r.kind = 'pledged_in'", by_then)},
               {agg("pout", "r.kind = 'pledged_out'", by_then)},
               {agg("ord", "r.kind = 'ordered'", by_then)},
               {agg("con", "r.kind = 'received' AND r.via_contract", by_then)},
               MIN(CASE WHEN r.grade = '' THEN NULL ELSE r.grade END) AS best,
               MAX(CASE WHEN r.grade = '' THEN NULL ELSE r.grade END) AS weakest,
               COUNT(*) AS n_rows,
               SUM(CASE WHEN r.grade = '' THEN 1 ELSE 0 END) AS n_unsourced
        FROM rows_ r
        LEFT JOIN base b
          ON b.holder_id = r.holder_id AND b.system_id = r.system_id AND b.rn = 1
        GROUP BY r.holder_id, r.system_id
    ){family_sums},
    flows AS (
        SELECT s.*,
               COALESCE(b_lo, 0) + rec_lo AS gross_lo,
               CASE WHEN has_base = 0 OR b_hi IS NULL OR rec_unb > 0 THEN NULL
                    ELSE b_hi + rec_hi END AS gross_hi,
               snt_lo + exp_lo AS out_lo,
               CASE WHEN snt_unb > 0 OR exp_unb > 0 THEN NULL ELSE snt_hi + exp_hi END
                 AS out_hi,
               CASE WHEN con_unb > 0 THEN 0 ELSE ord_lo - con_hi END AS ordopen_lo_raw,
               CASE WHEN ord_unb > 0 THEN NULL ELSE ord_hi - con_lo END AS ordopen_hi_raw
        FROM {sums_of} s
    ),
    raw AS (
        SELECT f.*,
               CASE WHEN out_hi IS NULL THEN 0 ELSE gross_lo - out_hi END AS oh_lo_raw,
               CASE WHEN gross_hi IS NULL THEN NULL ELSE gross_hi - out_lo END AS oh_hi_raw,
               pin_lo + CASE WHEN ordopen_lo_raw < 0 THEN 0 ELSE ordopen_lo_raw END AS inc_lo,
               CASE WHEN pin_unb > 0 OR ordopen_hi_raw IS NULL THEN NULL
                    ELSE pin_hi + CASE WHEN ordopen_hi_raw < 0 THEN 0 ELSE ordopen_hi_raw END
               END AS inc_hi
        FROM flows f
    ),
    onhand AS {materialized} (
        SELECT r.*,
               CASE WHEN oh_hi_raw IS NOT NULL AND oh_hi_raw < 0 THEN 1 ELSE 0 END AS bad,
               CASE WHEN oh_lo_raw < 0 OR (oh_hi_raw IS NOT NULL AND oh_hi_raw < 0) THEN 0
                    ELSE oh_lo_raw END AS oh_lo,
               CASE WHEN oh_hi_raw IS NULL THEN NULL WHEN oh_hi_raw < 0 THEN 0
                    ELSE oh_hi_raw END AS oh_hi
        FROM raw r
    ),
    proj AS {materialized} (
        SELECT o.*,
               CASE WHEN pout_unb > 0 THEN 0 ELSE oh_lo + inc_lo - pout_hi END AS pr_lo_raw,
               CASE WHEN oh_hi IS NULL OR inc_hi IS NULL THEN NULL
                    ELSE oh_hi + inc_hi - pout_lo END AS pr_hi_raw
        FROM onhand o
    )
    SELECT holder_id, system_id,
           CASE WHEN has_base = 1 THEN b_lo ELSE NULL END AS baseline_low,
           CASE WHEN has_base = 1 THEN b_hi ELSE NULL END AS baseline_high,
           CASE WHEN has_base = 1 THEN b_d ELSE NULL END AS baseline_date,
           has_base = 1 AS has_baseline,
           rec_lo AS received_low, {total_hi("rec")} AS received_high,
           snt_lo AS sent_low, {total_hi("snt")} AS sent_high,
           exp_lo AS expended_low, {total_hi("exp")} AS expended_high,
           oh_lo AS on_hand_low, oh_hi AS on_hand_high,
           inc_lo AS incoming_low, inc_hi AS incoming_high,
           pout_lo AS outgoing_low, {total_hi("pout")} AS outgoing_high,
           CASE WHEN pr_lo_raw < 0 THEN 0 ELSE pr_lo_raw END AS projected_low,
           CASE WHEN pr_hi_raw IS NULL THEN NULL WHEN pr_hi_raw < 0 THEN 0
                ELSE pr_hi_raw END AS projected_high,
           bad = 1 AS inconsistent,
           COALESCE(best, '') AS best_grade, COALESCE(weakest, '') AS weakest_grade,
           n_rows AS record_count, n_unsourced AS unsourced_count
    FROM proj
    """


def _family_where(lineage: Sequence[Pair], holder_ids: Iterable[int] | None = None) -> str:
    """The ledger rows a family select reads: its members' (of these holders)."""
    members = _ids_sql("system_id", sorted({d for _, d in lineage}))
    if holder_ids is None:
        return members
    return f"{members} AND {_ids_sql('holder_id', holder_ids)}"


def _upsert(select_sql: str, scope: str) -> str:
    """Insert new estimates and update changed ones. Unchanged rows are filtered out before
    the write (an ON CONFLICT update would lock and rewrite every row), so `computed_at`
    says when an estimate's numbers last changed."""
    columns = ", ".join(VALUE_COLUMNS)
    qualified = ", ".join(f"q.{c}" for c in VALUE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in [*VALUE_COLUMNS, "computed_at"])
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    changed = " OR ".join(f"q.{c} {distinct} e.{c}" for c in VALUE_COLUMNS)
    return f"""
    INSERT INTO {ESTIMATE} (holder_id, system_id, scope, computed_at, {columns})
    SELECT q.holder_id, q.system_id, '{scope}', %(computed_at)s, {qualified}
    FROM ({select_sql}) q
    LEFT JOIN {ESTIMATE} e
      ON e.holder_id = q.holder_id AND e.system_id = q.system_id AND e.scope = '{scope}'
    WHERE e.id IS NULL OR {changed}
    ON CONFLICT (holder_id, system_id, scope) DO UPDATE SET {updates}
    """


def _delete_orphans_sql(scope_filter: str, lineage: Sequence[Pair]) -> list[str]:
    """Statements that delete estimates left without ledger rows as of today (system scope)
    or without member estimates (family scope), among those `scope_filter` selects."""
    statements = [
        f"""DELETE FROM {ESTIMATE} WHERE scope = 'system' AND {scope_filter} AND NOT EXISTS (
            SELECT 1 FROM {LEDGER} l WHERE l.holder_id = {ESTIMATE}.holder_id
              AND l.system_id = {ESTIMATE}.system_id AND l.is_cancelled = false AND l.is_superseded = false
              AND (l.date_earliest IS NULL OR l.date_earliest <= %(as_of)s))"""
    ]
    if lineage:
        values = ", ".join(f"({int(a)}, {int(d)})" for a, d in lineage)
        statements.append(
            f"""WITH lineage (ancestor_id, descendant_id) AS (VALUES {values})
            DELETE FROM {ESTIMATE} WHERE scope = 'family' AND {scope_filter}
            AND NOT EXISTS (
                SELECT 1 FROM {ESTIMATE} m
                JOIN lineage ON lineage.descendant_id = m.system_id
                WHERE m.scope = 'system' AND m.holder_id = {ESTIMATE}.holder_id
                  AND lineage.ancestor_id = {ESTIMATE}.system_id)"""
        )
    else:
        statements.append(f"DELETE FROM {ESTIMATE} WHERE scope = 'family' AND {scope_filter}")
    return statements


def family_lineage(system_ids: Iterable[int] | None = None) -> list[Pair]:
    """(ancestor, descendant) pairs for every family with variants, each system included
    as its own descendant; restricted to the families of `system_ids` when given."""
    parents = dict(WeaponSystem.objects.values_list("pk", "parent_id"))
    children: dict[int, list[int]] = {}
    for pk, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(pk)
    if system_ids is None:
        ancestors = set(children)
    else:
        ancestors = set()
        for pk in system_ids:
            if pk in children:  # a family itself
                ancestors.add(pk)
            seen = set()
            node = parents.get(pk)
            while node is not None and node not in seen:
                seen.add(node)
                ancestors.add(node)
                node = parents.get(node)
    lineage: list[Pair] = []
    for ancestor in sorted(ancestors):
        stack, seen = [ancestor], set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            lineage.append((ancestor, node))
            stack.extend(children.get(node, []))
    return lineage


def estimates_select(
    *,
    as_of: dt.date,
    pairs: Sequence[Pair] | None = None,
    holder_ids=None,
    system_ids=None,
    lineage: Sequence[Pair] = (),
    today: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> list[dict]:
    """The estimates as of a date, computed from the ledger (not stored): system scope, or
    family scope for the families of `lineage` (then `system_ids` are their members);
    `known_at`: from the rows as the database knew them at that moment."""
    where = _where(pairs, holder_ids, system_ids)
    if lineage:
        where = f"{where} AND {_family_where(lineage)}"
    if known_at is not None:
        known_at = connection.ops.adapt_datetimefield_value(known_at)
    params = {"as_of": as_of, "today": today or timezone.localdate(), "known_at": known_at}
    with connection.cursor() as cursor:
        cursor.execute(_system_select(where, lineage, known_at=known_at is not None), params)
        names = [col[0] for col in cursor.description]
        return [_normalize(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _normalize(row: dict) -> dict:
    for key in ("has_baseline", "inconsistent"):
        row[key] = bool(row[key])
    for key, value in row.items():
        if isinstance(value, Decimal):  # PostgreSQL's SUM of integers (family sums)
            row[key] = int(value)
    if isinstance(row.get("baseline_date"), str):
        row["baseline_date"] = dt.date.fromisoformat(row["baseline_date"])
    return row


def _where(pairs, holder_ids, system_ids) -> str:
    parts = ["1 = 1"]
    if pairs is not None:
        parts.append(_pairs_sql(pairs) if pairs else "1 = 0")
    if holder_ids is not None:
        parts.append(_ids_sql("holder_id", holder_ids) if holder_ids else "1 = 0")
    if system_ids is not None:
        parts.append(_ids_sql("system_id", system_ids) if system_ids else "1 = 0")
    return " AND ".join(parts)


REFRESH_LOCK = 7_302_151  # pg_advisory_xact_lock key of the estimate refresh


def _serialize_refreshes(cursor) -> None:
    """Refreshes run one at a time: two workers refreshing the same pairs would otherwise
    both delete and re-insert their series. PostgreSQL: a transaction-level advisory lock
    (released at commit or rollback); SQLite already serializes writing transactions."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])


def estimates_refresh_pairs(pairs: Iterable[Pair]) -> dict[str, int]:
    """Recompute exactly these pairs (and the families above them), in one transaction.

    Pairs that no longer have ledger rows (their records were deleted, or the holder or the
    system is gone) lose their estimate; nothing else is touched. Stale marks made before
    the refresh started are cleared.
    """
    pairs = sorted({(int(h), int(s)) for h, s in pairs})
    if not pairs:
        return {"pairs": 0, "estimates": 0}
    holder_ids = sorted({h for h, _ in pairs})
    lineage = family_lineage({s for _, s in pairs})
    families = sorted({a for a, _ in lineage})
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        _serialize_refreshes(cursor)
        started = timezone.now()  # marks up to now are covered by what this refresh reads
        today = timezone.localdate()
        params = {"as_of": today, "today": today, "computed_at": started}
        for start in range(0, len(pairs), 500):
            chunk = pairs[start : start + 500]
            cursor.execute(_upsert(_system_select(_pairs_sql(chunk)), EstimateScope.SYSTEM), params)
            written += max(cursor.rowcount, 0)
            cursor.execute(_delete_orphans_sql(_pairs_sql(chunk), [])[0], params)
        if families:
            holders = _ids_sql("holder_id", holder_ids)
            cursor.execute(
                _upsert(
                    _system_select(_family_where(lineage, holder_ids), lineage),
                    EstimateScope.FAMILY,
                ),
                params,
            )
            written += max(cursor.rowcount, 0)
            cursor.execute(
                _delete_orphans_sql(f"{holders} AND {_ids_sql('system_id', families)}", lineage)[1],
                params,
            )
        conflicts_flag(
            cursor, _pairs_sql(pairs), lineage, holders=_ids_sql("holder_id", holder_ids)
        )
        for start in range(0, len(pairs), 500):
            StaleEstimate.objects.filter(
                pairs_condition(pairs[start : start + 500]), marked_at__lte=started
            ).delete()
        from stock.series import series_refresh_pairs

        series_refresh_pairs(pairs, lineage=lineage)
        estimates_changed_on_commit()
    return {"pairs": len(pairs), "estimates": written}


CHANGED = "stock_refresh_changed"  # temporary: the pairs a full refresh changed


def estimates_refresh_all(*, series: bool = True, progress=None) -> dict[str, int]:
    """Recompute every estimate from the ledger: one statement per scope, one transaction.
    Unchanged estimates are left as they are.

    With `series` the monthly series are brought in step too, inside the same transaction:
    the series of every pair whose estimate this refresh changed (system or family scope:
    each upsert also records the pairs it wrote), and of every pair marked stale, are
    rewritten a batch at a time (`series_refresh_pairs`); a refresh that changes nothing
    rewrites no point. `progress(n)` is called with the number of pairs whose series were
    rewritten after each batch. The nightly rebuild passes `series=False` and rewrites every
    series itself (`series_rebuild_all`: the months move on)."""
    lineage = family_lineage()
    with transaction.atomic(), connection.cursor() as cursor:
        _serialize_refreshes(cursor)
        started = timezone.now()
        today = timezone.localdate()
        params = {"as_of": today, "today": today, "computed_at": started}
        if series:
            cursor.execute(f"DROP TABLE IF EXISTS {_temp(CHANGED)}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {CHANGED} (holder_id bigint, system_id bigint, "
                "PRIMARY KEY (holder_id, system_id))"
                + (" ON COMMIT DROP" if connection.vendor == "postgresql" else "")
            )
        scopes = [(_system_select("1 = 1"), EstimateScope.SYSTEM)]
        if lineage:
            scopes.append((_system_select(_family_where(lineage), lineage), EstimateScope.FAMILY))
        written = 0
        for select_sql, scope in scopes:
            written += _upsert_recording(cursor, _upsert(select_sql, scope), params, series)
        for statement in _delete_orphans_sql("1 = 1", lineage):
            cursor.execute(statement, params)
        conflicts_flag(cursor, "1 = 1", lineage, holders="1 = 1")
        points = 0
        if series:
            points = _series_of_changed(cursor, started, progress)
        StaleEstimate.objects.filter(marked_at__lte=started).delete()
        if series:
            cursor.execute(f"DROP TABLE {_temp(CHANGED)}")
        estimates_changed_on_commit()
    return {"estimates": written, **({"points": points} if series else {})}


def _temp(name: str) -> str:
    return f"pg_temp.{name}" if connection.vendor == "postgresql" else f"temp.{name}"


def _upsert_recording(cursor, upsert_sql: str, params: dict, record: bool) -> int:
    """Run an upsert; with `record`, the pairs it wrote go to the temporary table CHANGED
    (PostgreSQL: in the same statement, nothing read back; SQLite: through RETURNING)."""
    if not record:
        cursor.execute(upsert_sql, params)
        return max(cursor.rowcount, 0)
    if connection.vendor == "postgresql":
        cursor.execute(
            f"WITH written AS ({upsert_sql} RETURNING holder_id, system_id) "
            f"INSERT INTO {CHANGED} (holder_id, system_id) SELECT holder_id, system_id "
            "FROM written ON CONFLICT DO NOTHING",
            params,
        )
        return max(cursor.rowcount, 0)
    cursor.execute(f"{upsert_sql} RETURNING holder_id, system_id", params)
    rows = cursor.fetchall()
    cursor.executemany(
        f"INSERT INTO {CHANGED} (holder_id, system_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        rows,
    )
    return len(rows)


def _series_of_changed(cursor, started, progress, batch: int = 2000) -> int:
    """Rewrite the series of the pairs in CHANGED and of the pairs marked stale by
    `started`, `batch` pairs at a time in (holder, system) order (memory stays flat)."""
    from stock.series import series_refresh_pairs

    stale = StaleEstimate._meta.db_table
    cursor.execute(
        f"INSERT INTO {CHANGED} (holder_id, system_id) SELECT holder_id, system_id "
        f"FROM {stale} WHERE marked_at <= %s ON CONFLICT DO NOTHING",
        [started],
    )
    points = 0
    last = (-1, -1)
    while True:  # keyset pages on the table's primary key
        cursor.execute(
            f"SELECT holder_id, system_id FROM {CHANGED} "
            "WHERE holder_id > %s OR (holder_id = %s AND system_id > %s) "
            f"ORDER BY holder_id, system_id LIMIT {int(batch)}",
            [last[0], last[0], last[1]],
        )
        pairs = [(int(h), int(s)) for h, s in cursor.fetchall()]
        if not pairs:
            return points
        lineage = family_lineage({s for _, s in pairs})
        points += series_refresh_pairs(pairs, lineage=lineage)
        if progress is not None:
            progress(len(pairs))
        last = pairs[-1]
