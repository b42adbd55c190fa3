"""`GET /api/v1/changes/?since=…`: every change to every tracked record, oldest first.

A consumer keeps a copy of Stockpile in sync with it: read the feed once from the beginning
(no `since`), apply each change (a snapshot of the record after a create or a change, its
last state for a delete), follow `next` while there is one, and keep the last page's
`cursor`: `?cursor=` then lists only what changed after it. The history tables (django-simple-history,
`core.history`) are the source: they are append-only, so a change once listed stays listed,
and a cursor never skips a change made later with an earlier timestamp in the same second
(the cursor is the change's (time, model, history id), not the time alone).

`until=` closes the window: with `since`, every change between two moments ("what changed
in what we know since 1 March").

Which models a reader gets: those whose view permission they hold (all of them for
anonymous readers when anonymous reads are on), as on `/api/v1/history/`. Anonymous readers
get the snapshots without the unpublished fields (`core.api.serializers.UNPUBLISHED_FIELDS`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from core.api.history import HISTORY_MODELS
from core.api.permissions import anonymous_read_allowed
from core.api.serializers import CHANGES, snapshot_of
from core.api.viewsets import ApiMixin

DEFAULT_PAGE_SIZE = 100


def _cursor_encode(at: dt.datetime, model: str, history_id: int) -> str:
    raw = f"{at.isoformat()}|{model}|{history_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_decode(token: str) -> tuple[dt.datetime, str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, model, history_id = raw.split("|")
        moment = dt.datetime.fromisoformat(at)
        if timezone.is_naive(moment) or model not in HISTORY_MODELS:
            raise ValueError(model)
        return moment, model, int(history_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise forms.ValidationError(
            f"{token[:40]!r} is not a cursor of this feed; use the `next` link as given."
        ) from None


class ChangesQuery(forms.Form):
    since = forms.DateTimeField(required=False)
    until = forms.DateTimeField(required=False)
    cursor = forms.CharField(required=False, max_length=200)
    model = forms.CharField(required=False, max_length=500)
    page_size = forms.IntegerField(required=False, min_value=1)

    def clean_since(self):
        return self._moment("since")

    def clean_until(self):
        until = self._moment("until")
        since = self.cleaned_data.get("since")
        if until is not None and since is not None and until < since:
            raise forms.ValidationError(
                f"until ({until.isoformat()}) is before since ({since.isoformat()})."
            )
        return until

    def _moment(self, name: str):
        """A date-time (UTC when it has no offset), or a date: for `since` its first instant,
        for `until` its end (UTC)."""
        moment = self.cleaned_data[name]
        raw = (self.data.get(name) or "").strip()
        if moment is not None and name == "until" and len(raw) == 10:
            moment = dt.datetime.combine(moment.date(), dt.time.max)
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt.UTC)
        return moment

    def clean_cursor(self):
        token = self.cleaned_data["cursor"].strip()
        return _cursor_decode(token) if token else None

    def clean_model(self):
        names = [name.strip().lower() for name in self.cleaned_data["model"].split(",")]
        names = [name for name in names if name]
        unknown = [name for name in names if name not in HISTORY_MODELS]
        if unknown:
            raise forms.ValidationError(
                f"{', '.join(map(repr, unknown))} is not a tracked model; use one of: "
                f"{', '.join(sorted(HISTORY_MODELS))}."
            )
        return names

    def clean_page_size(self):
        size = self.cleaned_data["page_size"]
        limit = settings.STOCKPILE_API_MAX_PAGE_SIZE
        if size is not None and size > limit:
            raise forms.ValidationError(f"{size} is above the limit of {limit}.")
        return size or DEFAULT_PAGE_SIZE


class ChangesPermissions(BasePermission):
    def has_permission(self, request, view) -> bool:
        return anonymous_read_allowed(request) or request.user.is_authenticated


def readable_models(request) -> dict[str, type[models.Model]]:
    if anonymous_read_allowed(request):
        return dict(HISTORY_MODELS)
    user = request.user
    return {
        name: model
        for name, model in HISTORY_MODELS.items()
        if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
    }


def _after(name: str, since: dt.datetime | None, cursor, until=None) -> Q:
    """The rows of model `name` that come after the cursor (or at or after `since`) in the
    feed's order: (history_date, model name, history_id), and not after `until`."""
    if until is not None:
        return _after(name, since, cursor) & Q(history_date__lte=until)
    if cursor is not None:
        at, model, history_id = cursor
        if name > model:
            return Q(history_date__gte=at)
        if name < model:
            return Q(history_date__gt=at)
        return Q(history_date__gt=at) | Q(history_date=at, history_id__gt=history_id)
    return Q(history_date__gte=since) if since is not None else Q()


def change_page(
    chosen: dict[str, type[models.Model]],
    *,
    since=None,
    cursor=None,
    size=DEFAULT_PAGE_SIZE,
    until=None,
) -> tuple[list, bool]:
    """The next `size` changes of the models `chosen`, oldest first, as historical rows,
    and whether more follow. One query finds the page's keys (a UNION over the history
    tables); one more per model present on the page reads its rows."""
    parts = [
        model.history.filter(_after(name, since, cursor, until))
        .order_by()
        .annotate(feed_model=Value(name, output_field=models.CharField()))
        .values_list("history_date", "feed_model", "history_id")
        for name, model in sorted(chosen.items())
    ]
    if not parts:
        return [], False
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    keys = list(union.order_by("history_date", "feed_model", "history_id")[: size + 1])
    more = len(keys) > size
    keys = keys[:size]
    wanted: dict[str, list[int]] = {}
    for _at, name, history_id in keys:
        wanted.setdefault(name, []).append(history_id)
    rows = {}
    for name, ids in wanted.items():
        for row in chosen[name].history.filter(history_id__in=ids):
            rows[(name, row.history_id)] = row
    return [(name, rows[(name, history_id)]) for _at, name, history_id in keys], more


def _detail_url(request, name: str, object_id: int) -> str | None:
    try:
        return request.build_absolute_uri(reverse(f"{name}-detail", args=[object_id]))
    except NoReverseMatch:
        return None


def change_item(request, name: str, row) -> dict:
    change = CHANGES[row.history_type]
    return {
        "at": row.history_date.isoformat(),
        "model": name,
        "object_id": row.id,
        "change": change,
        "history_id": row.history_id,
        "door": row.door,
        "url": None if change == "deleted" else _detail_url(request, name, row.id),
        "snapshot": snapshot_of(row, request),
    }


CHANGE_FIELDS = {
    "at": serializers.DateTimeField(),
    "model": serializers.CharField(),
    "object_id": serializers.IntegerField(),
    "change": serializers.ChoiceField(choices=list(CHANGES.values())),
    "history_id": serializers.IntegerField(),
    "door": serializers.CharField(),
    "url": serializers.URLField(allow_null=True),
    "snapshot": serializers.DictField(),
}


@extend_schema_serializer(many=False)  # a page object, though the view is a list
class ChangePageSerializer(serializers.Serializer):
    results = inline_serializer("Change", CHANGE_FIELDS, many=True)
    next = serializers.URLField(allow_null=True)
    cursor = serializers.CharField(
        allow_null=True, help_text="Where this page ends: come back with ?cursor=."
    )


@extend_schema(
    summary="Every change to every tracked record, oldest first (sync a copy incrementally)",
    parameters=[
        OpenApiParameter(
            "since",
            OpenApiTypes.DATETIME,
            description="Changes at or after this moment (ISO 8601; UTC if no offset). "
            "Without it and without a cursor: from the beginning.",
        ),
        OpenApiParameter(
            "until",
            OpenApiTypes.DATETIME,
            description="Changes at or before this moment (a date: the end of that day, UTC): "
            "with `since`, what changed between two moments.",
        ),
        OpenApiParameter("cursor", str, description="The cursor of a `next` link."),
        OpenApiParameter(
            "model", str, description="Comma-separated tracked models (transfer,pledge)."
        ),
        OpenApiParameter("page_size", int, description="1 to 500; default 100."),
    ],
    responses=ChangePageSerializer,
)
class ChangesViewSet(ApiMixin, viewsets.GenericViewSet):
    permission_classes = [ChangesPermissions]
    pagination_class = None
    extra_query_params = tuple(ChangesQuery.base_fields)

    def get_queryset(self):  # the schema's model guess; the list reads the history tables
        return next(iter(HISTORY_MODELS.values())).history.none()

    def list(self, request):
        query = ChangesQuery(request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        params = query.cleaned_data
        chosen = readable_models(request)
        if params["model"]:
            refused = [name for name in params["model"] if name not in chosen]
            if refused:
                raise ValidationError(
                    {"model": [f"You may not read {', '.join(map(repr, refused))}."]}
                )
            chosen = {name: chosen[name] for name in params["model"]}
        page, more = change_page(
            chosen,
            since=params["since"],
            cursor=params["cursor"],
            size=params["page_size"],
            until=params["until"],
        )
        results = [change_item(request, name, row) for name, row in page]
        cursor = request.query_params.get("cursor") or None
        if page:
            name, last = page[-1]
            cursor = _cursor_encode(last.history_date, name, last.history_id)
        next_url = None
        if more:
            keep = {
                key: value
                for key, value in request.query_params.items()
                if key in ("model", "page_size", "format", "until")
            }
            keep["cursor"] = cursor
            next_url = request.build_absolute_uri(request.path) + "?" + urlencode(keep)
        return Response({"results": results, "next": next_url, "cursor": cursor})
