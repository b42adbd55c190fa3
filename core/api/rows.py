"""The fast read path of list pages: `values()` rows instead of model instances.

A list page costs, whatever its size: its count, one query for the page's rows with the
objects they reference joined in (the page's ids a subquery: filtered, searched, ordered and
sliced as usual), and one query for each embedded list (a record's citations, with their sources joined in). No model
instance is built: each row becomes a light object of a per-model class that carries the
model's properties (`quantity_display`, `grade`), so the serializer's own fields read it as
they would read an instance, and plain fields are copied straight from the row.

`row_plan(serializer)` works out which columns the serializer's readable fields need and how
each field is read. It returns None when a field is of a kind it does not know (a
many-to-many, a dotted source, a to_representation of its own…); the view then serializes
model instances as usual, so the fast path is an optimization, never a different answer. A
serializer whose to_representation is only a shortcut for its fields' (the embedded
citations') says so with `represents_as_fields = True`.

`cached_row_plan` keeps one plan per serializer class and thread (building a serializer's
fields costs more than reading a page); each request swaps its own context in. So a
serializer on this path must not choose its fields by request: DRF's own fields and
SerializerMethodFields read the context when they run, which is fine.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import Field
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField, RelatedField
from rest_framework.settings import ISO_8601, api_settings

#: Fields whose representation of a database value is the value itself.
PLAIN_FIELDS = (
    serializers.CharField,
    serializers.IntegerField,
    serializers.ChoiceField,
    serializers.BooleanField,
    serializers.ReadOnlyField,
)


class Unsupported(Exception):
    """A field the fast path cannot read; the view falls back to model instances."""


class Row:
    """A `values()` row read through attributes, like the instance it stands for."""

    def __init__(self, values: dict) -> None:
        self.__dict__ = values


@functools.cache
def row_class(model: type[models.Model]) -> type[Row]:
    """A Row subclass with the properties the model (and its abstract bases) define."""
    attrs: dict[str, object] = {}
    for klass in reversed(model.__mro__):
        if not issubclass(klass, models.Model) or klass is models.Model:
            continue
        for name, value in vars(klass).items():
            if isinstance(value, property | cached_property) and name != "pk":
                attrs[name] = value
    return type(f"{model.__name__}Row", (Row,), attrs)


def _properties(model) -> set[str]:
    return {name for name in vars(row_class(model)) if not name.startswith("__")}


@dataclass
class Relation:
    """A forward foreign key read as a nested row: `source` from `source__title`, …"""

    attr: str
    model: type[models.Model]
    columns: list[str]
    relations: list[Relation] = field(default_factory=list)


@dataclass
class RowPlan:
    model: type[models.Model]
    columns: list[str]
    relations: list[Relation]
    embedded: list[Embedded]
    readers: list[tuple[str, Callable]]

    def lookups(self) -> list[str]:
        """The `values_list()` lookups of a row: own columns, then each relation's."""
        found = list(self.columns)
        for relation in self.relations:
            found += _relation_lookups(relation, "")
        return found

    @cached_property
    def row(self) -> Callable[[tuple], Row]:
        """Builds a Row (with its related rows) from a `values_list(*lookups())` tuple."""
        index = {lookup: n for n, lookup in enumerate(self.lookups())}
        return _row_builder(self.model, self.columns, self.relations, "", index)

    def represent(self, row: Row) -> dict:
        return {name: read(row) for name, read in self.readers}

    def page(self, queryset: models.QuerySet, pks, ordered_as: models.QuerySet) -> list[dict]:
        """The representations of the rows of `queryset` whose pk is in `pks` (ids, or a
        subquery of them), in the order of `ordered_as`."""
        order = [str(term).lstrip("-") for term in ordered_as.query.order_by]
        if any(name in ordered_as.query.annotations for name in order):
            # Ordered by an annotation (a search rank): read the rows from the ordered queryset
            # itself, which carries it.
            queryset = ordered_as
        rows = queryset.filter(pk__in=pks).prefetch_related(None)
        if ordered_as.query.order_by or not ordered_as.query.default_ordering:
            rows = rows.order_by(*ordered_as.query.order_by)
        build = self.row
        page = {}
        for item in rows.values_list(*self.lookups()):
            row = build(item)
            page[row.pk] = row
        for embedded in self.embedded:
            embedded.attach(page)
        represent = self.represent
        return [represent(row) for row in page.values()]


@dataclass
class Embedded:
    """A reverse foreign key read as a list of rows (a record's citations), in the related
    model's default order, as prefetch_related reads it."""

    attr: str
    fk: str
    plan: RowPlan

    def attach(self, rows: dict) -> None:
        lists: dict[object, list] = {pk: [] for pk in rows}
        lookups = self.plan.lookups()
        fk, build = lookups.index(self.fk), self.plan.row
        manager = self.plan.model._default_manager
        for item in manager.filter(**{f"{self.fk}__in": list(rows)}).values_list(*lookups):
            lists[item[fk]].append(build(item))
        for pk, row in rows.items():
            setattr(row, self.attr, lists[pk])


def _relation_lookups(relation: Relation, prefix: str) -> list[str]:
    prefix = f"{prefix}{relation.attr}__"
    found = [prefix + column for column in relation.columns]
    for nested in relation.relations:
        found += _relation_lookups(nested, prefix)
    return found


def _row_builder(model, columns, relations, prefix: str, index: dict) -> Callable:
    positions = [index[prefix + column] for column in columns]
    pk_at = index[prefix + model._meta.pk.attname]
    nested = [
        (r.attr, _row_builder(r.model, r.columns, r.relations, f"{prefix}{r.attr}__", index))
        for r in relations
    ]
    names = tuple(columns)
    pick = operator.itemgetter(*positions) if len(positions) > 1 else (lambda t: (t[positions[0]],))
    cls = row_class(model)
    optional = bool(prefix)  # a related row is None when its foreign key is

    def build(values: tuple) -> Row | None:
        if optional and values[pk_at] is None:
            return None
        own = dict(zip(names, pick(values), strict=True))
        own["pk"] = values[pk_at]
        for attr, related in nested:
            own[attr] = related(values)
        return cls(own)

    return build


# -- plans ----------------------------------------------------------------------------------


_local = threading.local()


def cached_row_plan(serializer_class, annotations, context: dict) -> RowPlan | None:
    """`row_plan` of a serializer of `serializer_class`, built once per thread (and time
    zone and datetime format, which plans read) with `context` swapped in."""
    key = (
        serializer_class,
        tuple(annotations),
        timezone.get_current_timezone_name(),
        api_settings.DATETIME_FORMAT,
    )
    plans = _local.__dict__.setdefault("plans", {})
    if key not in plans:
        serializer = serializer_class(context=context)
        plans[key] = (serializer, row_plan(serializer, annotations))
    serializer, plan = plans[key]
    serializer._context = context
    return plan


def row_plan(serializer: serializers.Serializer, annotations=()) -> RowPlan | None:
    """How to read `serializer`'s representation from rows, or None if it cannot be.
    `annotations`: the names the list's queryset annotates (read like columns)."""
    try:
        return _plan(serializer, tuple(annotations))
    except Unsupported:
        return None


def _plan(serializer, annotations: tuple[str, ...] = ()) -> RowPlan:
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        raise Unsupported(f"{type(serializer).__name__} has no model")
    overridden = type(serializer).to_representation is not serializers.Serializer.to_representation
    if overridden and not getattr(serializer, "represents_as_fields", False):
        raise Unsupported(f"{type(serializer).__name__} overrides to_representation")
    opts = model._meta
    columns = [f.attname for f in opts.concrete_fields]
    columns += [name for name in annotations if name not in columns]
    known = {*columns, *_properties(model)}
    relations: list[Relation] = []
    embedded: list[Embedded] = []
    readers: list[tuple[str, Callable]] = []
    for bound in serializer._readable_fields:
        name, source = bound.field_name, bound.source
        if isinstance(bound, serializers.ListSerializer):
            embedded.append(_embedded(model, bound))
            readers.append((name, _list_reader(source, embedded[-1].plan)))
        elif isinstance(bound, serializers.BaseSerializer):
            child = _plan(bound)
            if child.embedded:
                raise Unsupported(f"{name}: embedded lists inside a nested object")
            related = _forward(model, source)
            relations.append(Relation(related.name, child.model, child.columns, child.relations))
            readers.append((name, _nested_reader(related.name, child)))
        elif isinstance(bound, ManyRelatedField):
            raise Unsupported(f"{name}: many-to-many")
        elif isinstance(bound, PrimaryKeyRelatedField) and bound.pk_field is None:
            readers.append((name, operator.attrgetter(_forward(model, source).attname)))
        elif isinstance(bound, RelatedField):
            row_fields = getattr(bound, "row_fields", None)
            if row_fields is None:
                raise Unsupported(f"{name}: {type(bound).__name__} declares no row_fields")
            related = _forward(model, source)
            pk_name = related.related_model._meta.pk.attname
            wanted = list(dict.fromkeys([pk_name, *row_fields]))
            relations.append(Relation(related.name, related.related_model, wanted))
            readers.append((name, _generic_reader(bound, related.name)))
        elif type(bound).get_attribute is not Field.get_attribute or source == "*":
            readers.append((name, _custom_reader(bound)))
        elif "." in source or source not in known:
            raise Unsupported(f"{name}: source {source!r}")
        elif type(bound) in PLAIN_FIELDS:
            readers.append((name, operator.attrgetter(source)))
        elif type(bound) is serializers.DateTimeField and _utc_iso(bound):
            readers.append((name, _utc_datetime_reader(source)))
        else:
            readers.append((name, _generic_reader(bound, source)))
    return RowPlan(model, columns, relations, embedded, readers)


def _forward(model, source: str):
    try:
        related = model._meta.get_field(source)
    except Exception as exc:
        raise Unsupported(source) from exc
    if not (related.is_relation and related.many_to_one and related.concrete):
        raise Unsupported(f"{source}: not a foreign key")
    return related


def _embedded(model, bound: serializers.ListSerializer) -> Embedded:
    try:
        related = model._meta.get_field(bound.source)
    except Exception as exc:
        raise Unsupported(bound.source) from exc
    if not (related.is_relation and related.one_to_many):
        raise Unsupported(f"{bound.source}: not a reverse foreign key")
    plan = _plan(bound.child)
    if plan.embedded:
        raise Unsupported(f"{bound.source}: embedded lists two levels deep")
    return Embedded(bound.source, related.field.attname, plan)


def _list_reader(attr: str, plan: RowPlan) -> Callable:
    represent = plan.represent

    def read(row):
        return [represent(item) for item in getattr(row, attr)]

    return read


def _nested_reader(attr: str, plan: RowPlan) -> Callable:
    def read(row):
        value = getattr(row, attr)
        return None if value is None else plan.represent(value)

    return read


def _generic_reader(bound: Field, attr: str) -> Callable:
    """As DRF's Serializer.to_representation reads one field: None stays None."""
    to_representation = bound.to_representation

    def read(row):
        value = getattr(row, attr)
        return None if value is None else to_representation(value)

    return read


def _custom_reader(bound: Field) -> Callable:
    """A field that finds its own value (SerializerMethodField, get_attribute overrides)."""

    def read(row):
        value = bound.get_attribute(row)
        return None if value is None else bound.to_representation(value)

    return read


def _utc_iso(bound: serializers.DateTimeField) -> bool:
    output = getattr(bound, "format", api_settings.DATETIME_FORMAT)
    zone = getattr(bound, "timezone", None) or bound.default_timezone()
    return (
        isinstance(output, str)
        and output.lower() == ISO_8601
        and zone is not None
        and zone.utcoffset(None) == dt.timedelta(0)
        and timezone.get_current_timezone_name() in ("UTC", "Etc/UTC")
    )


def _utc_datetime_reader(attr: str) -> Callable:
    """DateTimeField.to_representation for a UTC site, without its per-value checks:
    ISO 8601 with "Z" for aware UTC values (what the database returns)."""
    utc = dt.UTC

    def read(row):
        value = getattr(row, attr)
        if value is None:
            return None
        if value.tzinfo is not utc and value.utcoffset() is not None:
            value = value.astimezone(utc)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return read
