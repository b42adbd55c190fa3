"""The stored monthly series of estimates (for charts and reports), and estimates as of a
past date, both computed from the ledger with `stock.estimates.estimate_from_rows`.

A point is the estimate as of the last day of a month. Each pair gets a point for every month
from its first dated ledger row to the current month (at most `SERIES_MONTHS` months back).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.utils import timezone

from core.services import rows_insert
from stock.choices import EstimateScope
from stock.estimates import Estimate, Movement, estimates_by_month
from stock.models import COUNTED, EstimatePoint, LedgerEntry
from stock.refresh import (
    VALUE_COLUMNS,
    _family_select,
    _ids_sql,
    _serialize_refreshes,
    family_lineage,
    pairs_condition,
)

Pair = tuple[int, int]
SERIES_MONTHS = 120
RANGE_NAMES = ("received", "sent", "expended", "on_hand", "incoming", "outgoing", "projected")


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The last day of every month from `first`'s month to `last`'s month."""
    ends = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        ends.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ends


def estimate_values(estimate: Estimate, evidence: dict) -> dict:
    """The stored columns of an estimate (StockEstimate and EstimatePoint share them)."""
    base = estimate.baseline
    base_row = evidence.get("baseline_row")
    return {
        "has_baseline": base is not None,
        "baseline_low": base.low if base is not None else None,
        "baseline_high": base.high if base is not None else None,
        "baseline_date": getattr(base_row, "date", None),
        **{
            f"{name}_{end}": getattr(getattr(estimate, name), end)
            for name in RANGE_NAMES
            for end in ("low", "high")
        },
        "inconsistent": estimate.inconsistent,
        "best_grade": evidence.get("best_grade", ""),
        "weakest_grade": evidence.get("weakest_grade", ""),
        "record_count": evidence.get("record_count", 0),
        "unsourced_count": evidence.get("unsourced_count", 0),
    }


def _points_for(rows: list, today: dt.date) -> dict[dt.date, tuple[Estimate, dict]]:
    dated = [row.date for row in rows if row.date is not None]
    first = min(dated) if dated else today
    floor = (today.replace(day=1) - dt.timedelta(days=31 * (SERIES_MONTHS - 1))).replace(day=1)
    ends = month_ends(max(first, floor), today)
    # the current month's point is as of today
    as_of = {
        end: (today if (end.year, end.month) == (today.year, today.month) else end) for end in ends
    }
    by_day = estimates_by_month(rows, [as_of[end] for end in ends])
    return {end: by_day[as_of[end]] for end in ends if as_of[end] in by_day}


def series_refresh_pairs(pairs: Iterable[Pair], *, lineage: Sequence[Pair] = ()) -> int:
    """Rewrite the monthly points of these pairs and of the families above them."""
    pairs = sorted(set(pairs))
    today = timezone.localdate()
    rows_by_pair: dict[Pair, list] = defaultdict(list)
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        rows = LedgerEntry.objects.filter(pairs_condition(chunk), COUNTED).values_list(
            "holder_id", "system_id", "id", "kind", "quantity_low", "quantity_high", "date",
            "via_contract", "grade",
        )  # fmt: skip
        for holder_id, system_id, *fields in rows:
            rows_by_pair[(holder_id, system_id)].append(Movement(*fields))
    new_points: list[tuple] = []
    for pair in pairs:
        for end, (estimate, evidence) in _points_for(rows_by_pair.get(pair, []), today).items():
            values = estimate_values(estimate, evidence)
            new_points.append(_point_row(pair[0], pair[1], EstimateScope.SYSTEM, end, values))
    for start in range(0, len(pairs), 500):
        EstimatePoint.objects.filter(
            pairs_condition(pairs[start : start + 500]), scope=EstimateScope.SYSTEM
        ).delete()
    written = rows_insert(EstimatePoint, POINT_COLUMNS, new_points)
    if lineage:
        written += _family_points({h for h, _ in pairs}, lineage)
    return written


POINT_COLUMNS = [
    "holder_id",
    "system_id",
    "scope",
    "as_of",
    "has_baseline",
    "baseline_low",
    "baseline_high",
    "baseline_date",
    *(f"{name}_{end}" for name in RANGE_NAMES for end in ("low", "high")),
    "inconsistent",
    "best_grade",
    "weakest_grade",
    "record_count",
    "unsourced_count",
]


def _point_row(holder_id: int, system_id: int, scope: str, as_of: dt.date, values: dict) -> tuple:
    """A point as a plain row (written with COPY on PostgreSQL: no model instances)."""
    return (holder_id, system_id, scope, as_of, *(values[c] for c in POINT_COLUMNS[4:]))


def _family_points(holder_ids: set[int], lineage: Sequence[Pair]) -> int:
    """Rewrite the family points of these holders: one INSERT … SELECT summing the member
    points month by month, the same SQL that sums the current family estimates."""
    families = sorted({ancestor for ancestor, _ in lineage})
    EstimatePoint.objects.filter(
        holder_id__in=holder_ids, system_id__in=families, scope=EstimateScope.FAMILY
    ).delete()
    table = EstimatePoint._meta.db_table
    columns = ", ".join(VALUE_COLUMNS)
    select = _family_select(
        lineage, _ids_sql("e.holder_id", sorted(holder_ids)), table=table, keys=("as_of",)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (holder_id, system_id, scope, as_of, {columns}) "
            f"SELECT q.holder_id, q.system_id, 'family', q.as_of, {columns} FROM ({select}) q"
        )
        return max(cursor.rowcount, 0)


def point_estimate(values) -> Estimate:
    """An `Estimate` from stored columns (a StockEstimate or an EstimatePoint)."""
    return Estimate(
        baseline=values.range("baseline"),
        received=values.range("received"),
        sent=values.range("sent"),
        expended=values.range("expended"),
        on_hand=values.range("on_hand"),
        incoming=values.range("incoming"),
        outgoing=values.range("outgoing"),
        projected=values.range("projected"),
        inconsistent=values.inconsistent,
    )


def series_rebuild_all() -> int:
    """Rewrite every point from the ledger, a few holders at a time (memory stays flat)."""
    pairs = list(
        LedgerEntry.objects.filter(COUNTED)
        .values_list("holder_id", "system_id")
        .distinct()
        .order_by("holder_id", "system_id")
    )
    by_holder: dict[int, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_holder[pair[0]].append(pair)
    lineage = family_lineage()
    total = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            _serialize_refreshes(cursor)
        EstimatePoint.objects.all().delete()
        batch: list[Pair] = []
        for holder_pairs in by_holder.values():
            batch.extend(holder_pairs)
            if len(batch) >= 500:
                total += series_refresh_pairs(batch, lineage=lineage)
                batch = []
        if batch:
            total += series_refresh_pairs(batch, lineage=lineage)
    return total
