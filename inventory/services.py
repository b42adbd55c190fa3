"""Every write to the catalogue. Keyword-only, validated, atomic, with history.

`tracked_save` and `tracked_delete` are the one door every service of both apps goes through:
full_clean() first (so the database never has to refuse), the actor stamped on the history
row, all inside a transaction.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone

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


# Field types whose Python values the database driver takes as they are (COPY on
# PostgreSQL); any other field is prepared by Django (`get_db_prep_save`).
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "CharField",
        "TextField",
        "SlugField",
        "DateField",
        "DateTimeField",
        "BooleanField",
    }
)


def _plain(field: models.Field) -> bool:
    if field.is_relation:
        return _plain(field.target_field)
    return field.get_internal_type() in _PLAIN_TYPES


def rows_insert(
    model: type[models.Model], columns: list[str], rows: Iterable[tuple], *, batch_size: int = 2000
) -> int:
    """Append plain rows (tuples of Python values, in the order of `columns`, attnames) to
    a model's table, without building model instances: PostgreSQL's COPY (values of plain
    types as they are, others as Django prepares them), elsewhere one executemany per
    batch. No signals, no history, no pre_save: the caller gives every
    value (defaults, timestamps) and has validated them. Returns the number of rows."""
    fields = [model._meta.get_field(name) for name in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            prepared = [i for i, f in enumerate(fields) if not _plain(f)]
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if prepared:  # decimals, JSON …: as Django prepares them
                        row = list(row)
                        for i in prepared:
                            row[i] = fields[i].get_db_prep_save(row[i], connection)
                    copy.write_row(row)
                    count += 1
            return count
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        batch: list[tuple] = []
        for row in rows:
            batch.append(
                tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True))
            )
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """`n` primary keys from the table's sequence (PostgreSQL), in increasing order."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), model._meta.pk.column, n],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _history_user(model: type[models.Model], actor: Actor) -> Any:
    """The user simple-history would stamp on a row that names none (the actor, else the
    request's user in a request), looked up once per batch rather than once per row."""
    if actor is not None:
        return actor
    return model.history.model.get_default_history_user(object())


def history_rows_insert(
    model: type[models.Model],
    objs: list[models.Model],
    *,
    history_type: str,
    actor: Actor = None,
    at: Any = None,
) -> int:
    """One history row per object (what simple-history's bulk_history_create writes:
    the tracked values, the date, the type, the user, door and actor name), as plain rows."""
    if not objs:
        return 0
    history = model.history.model
    at = at or timezone.now()
    user = _history_user(model, actor)
    attrs = _actor_attrs(actor)
    tracked = [f.attname for f in history.tracked_fields]
    # the other columns: the same value on every row, unless an object carries its own
    # date, change reason or user (as simple-history reads them)
    constants: dict[str, Any] = {}
    for f in history._meta.concrete_fields:
        if f.primary_key or f.attname in tracked:
            continue  # history_id: the database's sequence
        if f.name == "history_date":
            constants[f.attname] = at
        elif f.name == "history_change_reason":
            constants[f.attname] = None
        elif f.name == "history_type":
            constants[f.attname] = history_type
        elif f.name == "history_user":
            constants[f.attname] = getattr(user, "pk", None)
        elif f.name == "history_relation":
            raise NotImplementedError("history_relation is not used here")
        elif f.name in attrs:
            constants[f.attname] = attrs[f.name]
        else:
            constants[f.attname] = f.get_default()
    columns = [*tracked, *constants]
    values = operator.attrgetter(*tracked)
    fixed = tuple(constants.values())
    own = ("_history_date", "_change_reason", "_history_user")

    def row(obj: models.Model) -> tuple:
        if not any(name in obj.__dict__ for name in own):
            return (*values(obj), *fixed)
        extra = dict(constants)
        if "_history_date" in obj.__dict__:
            extra["history_date"] = obj._history_date
        if "_change_reason" in obj.__dict__:
            extra["history_change_reason"] = obj._change_reason
        if "_history_user" in obj.__dict__:
            extra["history_user_id"] = getattr(obj._history_user, "pk", None)
        return (*values(obj), *extra.values())

    return rows_insert(history, columns, (row(obj) for obj in objs))


def tracked_bulk_create(
    model: type[M], objs: list[M], *, actor: Actor = None, batch_size: int = 1000
) -> list[M]:
    """Bulk insert with one history row per object. Callers validate first.

    On PostgreSQL, brand-new objects get their ids from the table's sequence and are
    written, with their history rows, by COPY (no per-value preparation by the ORM);
    elsewhere Django's bulk_create, then the history rows by executemany. Either way
    `auto_now`/`auto_now_add` fields are stamped (one timestamp per call), no signal is
    sent (as bulk_create sends none), and the objects come back with their pks."""
    objs = list(objs)
    if not objs:
        return objs
    now = timezone.now()
    fields = model._meta.concrete_fields
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql" and all(o.pk is None for o in objs):
            for f in fields:
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    for obj in objs:
                        setattr(obj, f.attname, now)
            for obj, pk in zip(objs, _reserve_ids(model, len(objs)), strict=True):
                obj.pk = pk
            columns = [f.attname for f in fields]
            values = operator.attrgetter(*columns)
            rows_insert(model, columns, (values(obj) for obj in objs))
            alias = connection.alias
            for obj in objs:
                obj._state.adding = False
                obj._state.db = alias
        else:
            objs = model._default_manager.bulk_create(objs, batch_size=batch_size)
        history_rows_insert(model, objs, history_type="+", actor=actor, at=now)
    return objs


def tracked_bulk_update(
    model: type[M], objs: list[M], fields: list[str], *, actor: Actor = None, batch_size: int = 1000
) -> int:
    """Bulk update with one history row per object. Callers validate first."""
    objs = list(objs)
    with transaction.atomic(savepoint=False):
        updated = (
            model._default_manager.bulk_update(objs, fields, batch_size=batch_size) if fields else 0
        )
        history_rows_insert(model, objs, history_type="~", actor=actor)
    return updated


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
    from inventory.parties import add_missing_aliases, apply_party_lifespans, load_parties

    with transaction.atomic():
        created = load_parties(Country, CountryAlias, normalize_alias)
        add_missing_aliases(Country, CountryAlias, normalize_alias)
        apply_party_lifespans(Country)
        return created
