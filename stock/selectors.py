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
    instances, so they render like the stored ones). Family scope sums the system
    estimates of each family's members, as the stored refresh does."""
    from collections import defaultdict

    from stock.choices import EstimateScope
    from stock.estimates import estimate_sum
    from stock.models import StockEstimate
    from stock.refresh import estimates_select, family_lineage
    from stock.series import estimate_values, point_estimate

    if scope == EstimateScope.SYSTEM:
        rows = estimates_select(as_of=as_of, holder_ids=holder_ids, system_ids=system_ids)
        return [
            StockEstimate(scope=scope, computed_at=None, **row)
            for row in sorted(rows, key=lambda r: (r["holder_id"], r["system_id"]))
        ]
    lineage = family_lineage(system_ids)
    if system_ids is not None:
        lineage = [(a, d) for a, d in lineage if a in set(system_ids)]
    members: dict[int, set[int]] = defaultdict(set)
    for ancestor, descendant in lineage:
        members[descendant].add(ancestor)
    rows = estimates_select(as_of=as_of, holder_ids=holder_ids, system_ids=sorted(members))
    parts: dict[tuple[int, int], list] = defaultdict(list)
    for row in rows:
        for ancestor in members[row["system_id"]]:
            parts[(row["holder_id"], ancestor)].append(StockEstimate(**row))
    result = []
    for (holder_id, ancestor), items in sorted(parts.items()):
        grades = sorted(g for i in items for g in (i.best_grade, i.weakest_grade) if g)
        values = estimate_values(
            estimate_sum(point_estimate(item) for item in items),
            {
                "best_grade": grades[0] if grades else "",
                "weakest_grade": grades[-1] if grades else "",
                "record_count": sum(item.record_count for item in items),
                "unsourced_count": sum(item.unsourced_count for item in items),
            },
        )
        values["baseline_date"] = max(
            (item.baseline_date for item in items if item.baseline_date), default=None
        )
        result.append(StockEstimate(holder_id=holder_id, system_id=ancestor, scope=scope, **values))
    return result


def estimate_series(holder_id: int, system_id: int, scope: str = "system") -> QuerySet:
    from stock.models import EstimatePoint

    return EstimatePoint.objects.filter(
        holder_id=holder_id, system_id=system_id, scope=scope
    ).order_by("as_of")


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
        rows = rows.filter(Q(date__isnull=True) | Q(date__lte=as_of))
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
