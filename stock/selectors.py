"""Reads of the stock ledger and the estimates that more than one caller needs."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inventory.models import WeaponSystem
from inventory.selectors import weapon_system_family_ids


def estimate_list() -> QuerySet:
    """Current estimates with their holder and system."""
    from stock.models import StockEstimate

    return StockEstimate.objects.select_related("holder", "system", "system__parent")


def estimates_as_of(as_of, *, holder_ids=None, system_ids=None, scope: str = "system") -> list:
    """Estimates as of a past date, computed from the ledger now (unsaved StockEstimate
    instances, so they render like the stored ones). Family scope sums each family's
    members' flows, as the stored refresh does (the same SQL)."""
    from stock.choices import EstimateScope
    from stock.models import StockEstimate
    from stock.refresh import estimates_select, family_lineage

    lineage = []
    if scope != EstimateScope.SYSTEM:
        lineage = family_lineage(system_ids)
        if system_ids is not None:
            lineage = [(a, d) for a, d in lineage if a in set(system_ids)]
        if not lineage:
            return []
        system_ids = None
    rows = estimates_select(
        as_of=as_of, holder_ids=holder_ids, system_ids=system_ids, lineage=lineage
    )
    return [
        StockEstimate(scope=scope, computed_at=None, **row)
        for row in sorted(rows, key=lambda r: (r["holder_id"], r["system_id"]))
    ]


def estimate_series(holder_id: int, system_id: int, scope: str = "system", *, today=None) -> list:
    """The estimate at the end of every month, from the first stored point to the current
    month: the stored points (only changes are stored), each carried forward, as unsaved
    copies with their month's `as_of`, until the next."""
    import copy

    from django.utils import timezone

    from stock.models import EstimatePoint
    from stock.series import month_end, month_ends

    stored = list(
        EstimatePoint.objects.filter(
            holder_id=holder_id, system_id=system_id, scope=scope
        ).order_by("as_of")
    )
    if not stored:
        return []
    last = max(month_end(today or timezone.localdate()), stored[-1].as_of)
    by_end = {point.as_of: point for point in stored}
    series, current = [], None
    for end in month_ends(stored[0].as_of, last):
        if end in by_end:
            current = by_end[end]
            series.append(current)
        else:
            carried = copy.copy(current)
            carried.pk, carried.as_of = None, end
            series.append(carried)
    return series


def estimate_ledger_rows(holder_id: int, system_id: int, scope: str = "system", as_of=None):
    """The uncancelled ledger rows behind an estimate, in date order (unknown dates first)."""
    from django.db.models import F

    from stock.models import LedgerEntry

    system_ids = (
        weapon_system_family_ids(WeaponSystem(pk=system_id)) if scope == "family" else [system_id]
    )
    rows = LedgerEntry.objects.filter(
        holder_id=holder_id, system_id__in=system_ids, is_cancelled=False
    ).select_related("system")
    if as_of is not None:
        rows = rows.filter(Q(date_earliest__isnull=True) | Q(date_earliest__lte=as_of))
    return rows.order_by(F("date").asc(nulls_first=True), "id")


# -- why this number ------------------------------------------------------------------------


def estimate_explanation(
    *, holder_id: int, system_id: int, scope: str = "system", as_of=None
) -> list[dict]:
    """The ledger rows behind an estimate in date order ("why this number"), each with the
    record it came from and that record's citations with their sources (loaded through the
    registry of ledger origins, `stock.ledger.origin_records`). A constant number of
    queries, whatever the number of rows."""
    from stock.ledger import origin_records

    rows = list(estimate_ledger_rows(holder_id, system_id, scope, as_of))
    by_model: dict[str, set[int]] = {}
    for row in rows:
        by_model.setdefault(row.origin_model, set()).add(row.origin_id)
    records = origin_records(by_model)
    explained = []
    for row in rows:
        record = records.get((row.origin_model, row.origin_id))
        citations = getattr(record, "citations", None)
        explained.append(
            {
                "entry": row,
                "record": record,
                "citations": list(citations.all()) if citations is not None else [],
            }
        )
    return explained
