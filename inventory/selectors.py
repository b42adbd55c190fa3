"""Reads of the catalogue that more than one caller needs."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inventory.models import Country, WeaponSystem, normalize_alias


def country_resolve(text: str) -> Country | None:
    """Find a party by code, name or alias ("UAE", "United Arab Emirates", "AE", "ARE")."""
    text = (text or "").strip()
    if not text:
        return None
    match = Country.objects.filter(Q(code__iexact=text) | Q(name__iexact=text)).first()
    if match is not None:
        return match
    key = normalize_alias(text)
    return Country.objects.filter(aliases__alias_normalized=key).first() if key else None


def weapon_system_resolve(text: str) -> WeaponSystem | None:
    """Find a system by name or any alias or designation ("MGM-140" finds ATACMS)."""
    text = (text or "").strip()
    if not text:
        return None
    match = WeaponSystem.objects.filter(name__iexact=text).first()
    if match is not None:
        return match
    key = normalize_alias(text)
    return WeaponSystem.objects.filter(aliases__alias_normalized=key).first() if key else None


def weapon_system_family_ids(system: WeaponSystem) -> list[int]:
    """The ids of a system and every variant below it, at any depth."""
    ids = [system.pk]
    frontier = [system.pk]
    while frontier:
        frontier = list(
            WeaponSystem.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        )
        ids.extend(frontier)
    return ids


def country_search(term: str) -> QuerySet[Country]:
    key = normalize_alias(term)
    return Country.objects.filter(
        Q(name__icontains=term)
        | Q(code__iexact=term)
        | Q(aliases__alias_normalized__startswith=key)
    ).distinct()


# -- estimates ---------------------------------------------------------------------------


def estimate_list() -> QuerySet:
    """Current estimates with their holder and system."""
    from inventory.models import StockEstimate

    return StockEstimate.objects.select_related("holder", "system", "system__parent")


def estimates_as_of(as_of, *, holder_ids=None, system_ids=None, scope: str = "system") -> list:
    """Estimates as of a past date, computed from the ledger now (unsaved StockEstimate
    instances, so they render like the stored ones). Family scope sums each family's
    members' flows, as the stored refresh does (the same SQL)."""
    from inventory.choices import EstimateScope
    from inventory.models import StockEstimate
    from inventory.refresh import estimates_select, family_lineage

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

    from inventory.models import EstimatePoint
    from inventory.series import month_end, month_ends

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

    from inventory.models import LedgerEntry

    system_ids = (
        weapon_system_family_ids(WeaponSystem(pk=system_id)) if scope == "family" else [system_id]
    )
    rows = LedgerEntry.objects.filter(
        holder_id=holder_id, system_id__in=system_ids, is_cancelled=False
    ).select_related("system")
    if as_of is not None:
        rows = rows.filter(Q(date_earliest__isnull=True) | Q(date_earliest__lte=as_of))
    return rows.order_by(F("date").asc(nulls_first=True), "id")
