"""`?known_at=` on the record endpoints: each record as it stood at a past moment.

The history tables (django-simple-history, `core.history`) are the source: a list as known
at T holds the objects whose last change at or before T was not their deletion, with their
fields as that change left them (`core.history.history_as_of`). So a record created after T
is absent, one deleted after T is present, and a corrected one shows its old values.

What is read as of T besides the record's own fields, and what as it is now, each viewset
declares:

- `known_at_lists`: the embedded lists (a record's citations, a movement's party roles),
  read from their own history as of T, each with the foreign keys it also reads as of T
  (a citation's source) and those it reads as they are now (a role's party);
- `known_at_as_of`: the record's own foreign keys read as of T (a citation's source);
- every other foreign key the serializer shows (parties, systems: the catalogue) is read as
  it is now, joined in.

A list costs a fixed number of queries whatever its size: the count, the page's rows, one
per embedded list and one per foreign key read as of T. Filters on the record's own fields
apply to the record as it was; a filter or search that reads other tables (citations'
grades, roles, today's text) is refused with `known_at` (400 naming it), never applied to
today's data. Writes take no `known_at` (it is an unknown parameter there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from core.api.filters import StrictOrderingFilter, filter_errors
from core.history import history_as_of, instance_of, known_at_parse

KNOWN_AT_DESCRIPTION = (
    "As the database knew it at this moment (transaction time): an ISO 8601 date-time (UTC "
    "when it has no offset) or a date (the end of that day, UTC). Records created later are "
    "absent, records deleted later are present, fields as they were then (docs/estimates.md)."
)
KNOWN_AT = OpenApiParameter("known_at", OpenApiTypes.DATETIME, description=KNOWN_AT_DESCRIPTION)


def known_at_value(request, name: str = "known_at") -> dt.datetime | None:
    """The moment of `?known_at=` (or another moment parameter), or None; a 400 naming the
    parameter and the value when it is not a date or a date-time."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return known_at_parse(raw.strip())
    except ValueError as exc:
        raise ValidationError({name: [str(exc)]}) from None


@dataclass(frozen=True)
class KnownAtList:
    """An embedded list (a reverse foreign key the serializer shows) read as of the moment."""

    attr: str
    as_of: tuple[str, ...] = ()
    related: tuple[str, ...] = ()


def _as_of_objects(model, field_names, instances, moment) -> None:
    """Set each instance's foreign keys `field_names` to the objects as they were at
    `moment` (one query per field's model); an object with no history then keeps today's."""
    for name in field_names:
        field = model._meta.get_field(name)
        target = field.related_model
        ids = {getattr(i, field.attname) for i in instances} - {None}
        if not ids:
            continue
        found = {
            row.id: instance_of(row) for row in history_as_of(target, moment).filter(id__in=ids)
        }
        for instance in instances:
            related = found.get(getattr(instance, field.attname))
            if related is not None:
                field.set_cached_value(instance, related)


def _attach_list(model, spec: KnownAtList, instances, moment) -> dict[int, list]:
    relation = model._meta.get_field(spec.attr)
    child = relation.related_model
    fk = relation.field.attname
    rows = history_as_of(child, moment).filter(**{f"{fk}__in": [i.pk for i in instances]})
    if spec.related:
        rows = rows.select_related(*spec.related)
    order = list(child._meta.ordering) or ["id"]
    children = [instance_of(row) for row in rows.order_by(*order, "id")]
    _as_of_objects(child, spec.as_of, children, moment)
    lists: dict[int, list] = {i.pk: [] for i in instances}
    for item in children:
        lists[getattr(item, fk)].append(item)
    for instance in instances:
        instance._prefetched_objects_cache = {
            **getattr(instance, "_prefetched_objects_cache", {}),
            relation.get_accessor_name(): lists[instance.pk],
        }
    return lists


class KnownAtMixin:
    """`?known_at=` on a `ServiceViewSet`'s list and detail (see the module's docstring)."""

    known_at_lists: tuple[KnownAtList, ...] = ()
    known_at_as_of: tuple[str, ...] = ()

    def allowed_query_params(self) -> set[str]:
        allowed = super().allowed_query_params()
        if self.action in ("list", "retrieve"):
            allowed.add("known_at")
        return allowed

    def known_at(self) -> dt.datetime | None:
        if self.request.method not in ("GET", "HEAD"):
            return None
        if not hasattr(self, "_known_at"):
            self._known_at = known_at_value(self.request)
        return self._known_at

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "request", None) is not None:
            context["known_at"] = self.known_at()
        return context

    # -- the rows as of the moment ----------------------------------------------------------

    def _model(self) -> type[models.Model]:
        return self.get_queryset().model

    def _related_now(self) -> list[str]:
        """The forward foreign keys the list joins in today (parties, systems)."""
        model = self._model()
        joined = self.get_queryset().query.select_related
        names = list(joined) if isinstance(joined, dict) else []
        return [n for n in names if n not in self.known_at_as_of and _is_fk(model, n)]

    def _refused_with_known_at(self) -> dict[str, list[str]]:
        model = self._model()
        own = {f.name for f in model._meta.concrete_fields} | {
            f.attname for f in model._meta.concrete_fields
        }
        refused = {}
        filterset_class = getattr(self, "filterset_class", None)
        filters = filterset_class.base_filters if filterset_class else {}
        for name in self.request.query_params:
            item = filters.get(name)
            if item is None:
                continue
            if item.method is not None or item.field_name.split("__")[0] not in own:
                refused[name] = [
                    f"{name} reads today's related data and cannot be combined with known_at."
                ]
        if api_settings.SEARCH_PARAM in self.request.query_params:
            refused[api_settings.SEARCH_PARAM] = [
                "search reads today's text and cannot be combined with known_at."
            ]
        return refused

    def known_at_queryset(self, moment: dt.datetime, *, filtered: bool = True):
        model = self._model()
        rows = history_as_of(model, moment).select_related(*self._related_now())
        if not filtered:
            return rows
        refused = self._refused_with_known_at()
        if refused:
            raise ValidationError(refused)
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            filterset = filterset_class(
                self.request.query_params, queryset=rows, request=self.request
            )
            if not filterset.is_valid():
                raise filter_errors(filterset.errors)
            rows = filterset.qs
        if api_settings.ORDERING_PARAM in self.request.query_params:
            return StrictOrderingFilter().filter_queryset(self.request, rows, self)
        order = list(self.get_queryset().query.order_by) or list(model._meta.ordering)
        if not any(term.lstrip("-") in ("id", "pk") for term in order):
            order.append("id")
        # a historical row's pk is its history id: the record's own is `id`
        return rows.order_by(
            *[term.replace("pk", "id") if term.lstrip("-") == "pk" else term for term in order]
        )

    def known_at_instances(self, rows, moment: dt.datetime) -> list[models.Model]:
        """The page's historical rows as model instances, their embedded lists and the
        foreign keys read as of the moment attached (a fixed number of queries)."""
        model = self._model()
        instances = [instance_of(row) for row in rows]
        if not instances:
            return instances
        _as_of_objects(model, self.known_at_as_of, instances, moment)
        for spec in self.known_at_lists:
            _attach_list(model, spec, instances, moment)
        self.known_at_annotate(instances, moment)
        return instances

    def known_at_annotate(self, instances: list, moment: dt.datetime) -> None:
        """What the list's queryset annotates, for the instances as of the moment."""

    # -- list and detail --------------------------------------------------------------------

    def list(self, request, *args, **kwargs):
        moment = self.known_at()
        if moment is None:
            return super().list(request, *args, **kwargs)
        page = self.paginate_queryset(self.known_at_queryset(moment))
        self.known_at_page = self.known_at_instances(page, moment)
        data = self.get_serializer(self.known_at_page, many=True).data
        return self.get_paginated_response(data)

    def get_object(self):
        moment = self.known_at()
        if moment is None or self.action != "retrieve":
            return super().get_object()
        key = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        try:
            row = self.known_at_queryset(moment, filtered=False).get(id=int(key))
        except (ValueError, models.ObjectDoesNotExist):
            raise Http404(f"No {self._model()._meta.verbose_name} existed then.") from None
        (instance,) = self.known_at_instances([row], moment)
        self.check_object_permissions(self.request, instance)
        return instance


def _is_fk(model, name: str) -> bool:
    try:
        field = model._meta.get_field(name)
    except Exception:
        return False
    return field.is_relation and field.many_to_one and field.concrete
