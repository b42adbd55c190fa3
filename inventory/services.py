"""Every write to the catalogue. Keyword-only, validated, atomic, with history (through the
tracked write kernel in `core.services`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from core.services import Actor, tracked_save
from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias, normalize_alias

# -- countries and parties ---------------------------------------------------------------


def country_create(
    *,
    code: str,
    name: str,
    kind: str,
    actor: Actor = None,
    aliases: Iterable[str] = (),
    **fields: Any,
) -> Country:
    with transaction.atomic():
        country = tracked_save(Country(code=code, name=name, kind=kind, **fields), actor=actor)
        for alias in dict.fromkeys([name, *aliases]):
            if not CountryAlias.objects.filter(alias_normalized=normalize_alias(alias)).exists():
                country_alias_add(country=country, alias=alias, actor=actor)
    return country


def country_update(*, country: Country, actor: Actor = None, **fields: Any) -> Country:
    for name, value in fields.items():
        setattr(country, name, value)
    return tracked_save(country, actor=actor)


def country_alias_add(*, country: Country, alias: str, actor: Actor = None) -> CountryAlias:
    return tracked_save(CountryAlias(country=country, alias=alias), actor=actor)


# -- weapon systems -----------------------------------------------------------------------


def weapon_system_create(
    *, name: str, actor: Actor = None, aliases: Iterable[tuple[str, str] | str] = (), **fields: Any
) -> WeaponSystem:
    """Create a system; `aliases` are strings or (alias, kind) pairs."""
    with transaction.atomic():
        system = tracked_save(WeaponSystem(name=name, **fields), actor=actor)
        for alias in aliases:
            text, kind = (alias, "name") if isinstance(alias, str) else alias
            weapon_system_alias_add(system=system, alias=text, kind=kind, actor=actor)
    return system


def weapon_system_update(
    *, system: WeaponSystem, actor: Actor = None, **fields: Any
) -> WeaponSystem:
    for name, value in fields.items():
        setattr(system, name, value)
    return tracked_save(system, actor=actor)


def weapon_system_alias_add(
    *, system: WeaponSystem, alias: str, kind: str = "name", actor: Actor = None
) -> WeaponSystemAlias:
    return tracked_save(WeaponSystemAlias(system=system, alias=alias, kind=kind), actor=actor)


def parties_load() -> int:
    """Create any starting party that is missing (see inventory.parties)."""
    from inventory.parties import add_missing_aliases, apply_party_lifespans, load_parties

    with transaction.atomic():
        created = load_parties(Country, CountryAlias, normalize_alias)
        add_missing_aliases(Country, CountryAlias, normalize_alias)
        apply_party_lifespans(Country)
        return created
