"""Every write to the catalogue. Keyword-only, validated, atomic, with history.

`tracked_save` and `tracked_delete` are the one door every service of both apps goes through:
full_clean() first (so the database never has to refuse), the actor stamped on the history
row, all inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from inventory.history import current_door, history_actor
from inventory.models import (
    Country,
    CountryAlias,
    WeaponSystem,
    WeaponSystemAlias,
    normalize_alias,
)

M = TypeVar("M", bound=models.Model)
Actor = AbstractBaseUser | None


def _actor_attrs(actor: Actor) -> dict[str, Any]:
    return {"actor_name": actor.get_username() if actor is not None else "", "door": current_door()}


def tracked_save(instance: M, *, actor: Actor = None, exclude: Iterable[str] = ()) -> M:
    """Validate and save one instance; the history row names the actor and the door."""
    instance.full_clean(exclude=list(exclude) or None)
    if actor is not None:
        instance._history_user = actor
    with transaction.atomic():
        instance.save()
    remember = getattr(instance, "remember_saved_state", None)
    if remember is not None:
        remember()
    return instance


def tracked_delete(instance: models.Model, *, actor: Actor = None) -> None:
    """Delete one instance; its history (and a final "-" row) stays."""
    if actor is not None:
        instance._history_user = actor
    with transaction.atomic():
        instance.delete()


def tracked_bulk_create(
    model: type[M], objs: list[M], *, actor: Actor = None, batch_size: int = 1000
) -> list[M]:
    """Bulk insert with one history row per object. Callers validate first."""
    return bulk_create_with_history(
        objs,
        model,
        batch_size=batch_size,
        default_user=actor,
        custom_historical_attrs=_actor_attrs(actor),
    )


def tracked_bulk_update(
    model: type[M], objs: list[M], fields: list[str], *, actor: Actor = None, batch_size: int = 1000
) -> int:
    """Bulk update with one history row per object. Callers validate first."""
    return bulk_update_with_history(
        objs,
        model,
        fields,
        batch_size=batch_size,
        default_user=actor,
        custom_historical_attrs=_actor_attrs(actor),
    )


def tracked_bulk_delete(queryset: models.QuerySet, *, actor: Actor = None) -> int:
    """Delete a queryset; each deleted object (cascades included) gets a "-" history row
    naming the actor and the door."""
    with transaction.atomic(), history_actor(actor):
        deleted, _ = queryset.delete()
    return deleted


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
    from inventory.parties import load_parties

    with transaction.atomic():
        return load_parties(Country, CountryAlias, normalize_alias)
