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
