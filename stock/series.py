"""The stored monthly series of estimates (for charts and reports), and estimates as of a
past date, both computed from the ledger with `stock.estimates.estimate_from_rows`.

A point is the estimate as of the last day of a month. A pair's series runs from its first
dated ledger row to the current month (at most `SERIES_MONTHS` months back); only the points
where the estimate changes are stored, and readers carry each forward to the next
(`inventory.selectors.estimate_series`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.services import rows_insert
from stock.choices import EstimateScope
from stock.estimates import Estimate, Movement, estimates_by_month, family_by_month
from stock.models import COUNTED, EstimatePoint, LedgerEntry
from stock.refresh import _serialize_refreshes, family_lineage, pairs_condition

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
        "baseline_date": evidence.get("baseline_date", getattr(base_row, "date", None)),
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


def _month_ends_for(rows: Iterable, today: dt.date) -> tuple[list[dt.date], dict]:
    """The month ends a pair's (or a family's) series covers, and the day each is computed
    as of (the current month's point is as of today)."""
    dated = [row.date_earliest or row.date for row in rows if (row.date_earliest or row.date)]
    first = min(dated) if dated else today
    floor = (today.replace(day=1) - dt.timedelta(days=31 * (SERIES_MONTHS - 1))).replace(day=1)
    return _month_ends_from(max(first, floor).replace(day=1), today)


@functools.lru_cache(maxsize=4096)
def _month_ends_from(first: dt.date, today: dt.date) -> tuple[list[dt.date], dict]:
    """`_month_ends_for` from a first month (shared by every pair that starts in it: the
    caller must not change what it gets)."""
    ends = month_ends(first, today)
    as_of = {
        end: (today if (end.year, end.month) == (today.year, today.month) else end) for end in ends
    }
    return ends, as_of


def _points_for(rows: list, today: dt.date) -> dict[dt.date, tuple[Estimate, dict]]:
    ends, as_of = _month_ends_for(rows, today)
    by_day = estimates_by_month(rows, [as_of[end] for end in ends], today)
    return {end: by_day[as_of[end]] for end in ends if as_of[end] in by_day}


def _family_points_for(members: dict, today: dt.date) -> dict[dt.date, tuple[Estimate, dict]]:
    ends, as_of = _month_ends_for([row for rows in members.values() for row in rows], today)
    by_day = family_by_month(members, [as_of[end] for end in ends], today)
    return {end: by_day[as_of[end]] for end in ends if as_of[end] in by_day}


def changes_only(points: dict[dt.date, tuple[Estimate, dict]]) -> list[tuple[dt.date, dict]]:
    """The points to store: the first month's, then only those that differ from the month
    before (storage grows with the changes, not with months × pairs). Readers carry the
    last stored point forward (`inventory.selectors.estimate_series`).

    Months whose estimate is the very one of the month before (`estimates_by_month` gives
    every month since the last change the same computed pair) are the same values: they
    are skipped without being compared."""
    stored: list[tuple[dt.date, dict]] = []
    previous = previous_point = None
    for end in sorted(points):
        point = points[end]
        if point is previous_point:
            continue
        previous_point = point
        values = estimate_values(*point)
        if values != previous:
            stored.append((end, values))
        previous = values
    return stored


ROW_FIELDS = (
    "id", "kind", "quantity_low", "quantity_high", "date", "via_contract", "grade",
    "date_earliest", "date_latest",
)  # fmt: skip


def _ledger_movements(condition) -> Iterable[tuple[int, int, Movement]]:
    rows = LedgerEntry.objects.filter(condition, COUNTED).values_list(
        "holder_id", "system_id", *ROW_FIELDS
    )
    for holder_id, system_id, *fields in rows:
        yield holder_id, system_id, Movement(*fields)


def series_refresh_pairs(pairs: Iterable[Pair], *, lineage: Sequence[Pair] = ()) -> int:
    """Rewrite the monthly points of these pairs and of the families above them."""
    pairs = sorted(set(pairs))
    today = timezone.localdate()
    rows_by_pair: dict[Pair, list] = defaultdict(list)
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        for holder_id, system_id, row in _ledger_movements(pairs_condition(chunk)):
            rows_by_pair[(holder_id, system_id)].append(row)
    new_points: list[tuple] = []
    for pair in pairs:
        points = _points_for(rows_by_pair.get(pair, []), today)
        for end, values in changes_only(points):
            new_points.append(_point_row(pair[0], pair[1], EstimateScope.SYSTEM, end, values))
    for start in range(0, len(pairs), 500):
        EstimatePoint.objects.filter(
            pairs_condition(pairs[start : start + 500]), scope=EstimateScope.SYSTEM
        ).delete()
    written = rows_insert(EstimatePoint, POINT_COLUMNS, new_points)
    if lineage:
        written += _family_points({h for h, _ in pairs}, lineage, today)
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


def _family_points(holder_ids: set[int], lineage: Sequence[Pair], today: dt.date) -> int:
    """Rewrite the family points of these holders: each family's members' flows summed
    month by month (`stock.estimates.family_by_month`), as the current family
    estimates are."""
    families = sorted({ancestor for ancestor, _ in lineage})
    members_of: dict[int, set[int]] = defaultdict(set)
    for ancestor, descendant in lineage:
        members_of[descendant].add(ancestor)
    EstimatePoint.objects.filter(
        holder_id__in=holder_ids, system_id__in=families, scope=EstimateScope.FAMILY
    ).delete()
    grouped: dict[Pair, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    holders = sorted(holder_ids)
    for start in range(0, len(holders), 500):
        condition = Q(holder_id__in=holders[start : start + 500], system_id__in=list(members_of))
        for holder_id, system_id, row in _ledger_movements(condition):
            for ancestor in members_of[system_id]:
                grouped[(holder_id, ancestor)][system_id].append(row)
    new_points = []
    for (holder_id, ancestor), members in sorted(grouped.items()):
        for end, values in changes_only(_family_points_for(members, today)):
            new_points.append(_point_row(holder_id, ancestor, EstimateScope.FAMILY, end, values))
    return rows_insert(EstimatePoint, POINT_COLUMNS, new_points)


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


def series_rebuild_all(*, progress=None) -> int:
    """Rewrite every point from the ledger, a few holders at a time (memory stays flat).
    `progress(n)` is called with the number of pairs done after each batch."""
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
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            total += series_refresh_pairs(batch, lineage=lineage)
            if progress is not None:
                progress(len(batch))
    return total
