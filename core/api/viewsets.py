"""The base every API viewset of both apps stands on.

- `ApiMixin`: unknown query parameters are a 400 naming them; CSV only on lists (a CSV
  request on a detail view is a 406); errors are always JSON; bodies above
  DATA_UPLOAD_MAX_MEMORY_SIZE are a 413.
- `ServiceViewSet`: a ModelViewSet whose writes go through the services (the serializer's
  create/update call them; `delete_service` deletes), with ETag on detail responses and
  If-Match on PUT/PATCH/DELETE (412 when it does not match; when absent, allowed unless
  STOCKPILE_API_REQUIRE_IF_MATCH is on, then 428). A delete that the services refuse, or
  that would break a PROTECT reference, is a 409 with the reason.
- Lists of a `ServiceViewSet` read their page as `values()` rows when the serializer allows
  it (`core.api.rows`): the same filters, ordering, search, pagination and
  representation, without building model instances.
- `HistoryMixin`: `GET …/{id}/history/`, the change history of one record.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.api.errors import Conflict, PreconditionFailed, PreconditionRequired
from core.api.parsers import check_body_size
from core.api.rows import cached_row_plan
from core.api.serializers import HistoryRowSerializer

LIST_ACTIONS = ("list", "history")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ApiMixin:
    #: Query parameters a list accepts besides its filters, ordering, search and pagination.
    extra_query_params: tuple[str, ...] = ()
    #: The actions that answer a list (paged, CSV offered).
    list_actions: tuple[str, ...] = LIST_ACTIONS

    def allowed_query_params(self) -> set[str]:
        allowed = {api_settings.URL_FORMAT_OVERRIDE}
        if self.action in self.list_actions and self.paginator is not None:
            allowed |= {self.paginator.page_query_param, self.paginator.page_size_query_param}
        if self.action == "list":
            filterset_class = getattr(self, "filterset_class", None)
            if filterset_class is not None:
                allowed |= set(filterset_class.base_filters)
            if getattr(self, "ordering_fields", None):
                allowed.add(api_settings.ORDERING_PARAM)
            if getattr(self, "search_fields", None):
                allowed.add(api_settings.SEARCH_PARAM)
            allowed |= set(self.extra_query_params)
        return allowed

    def check_query_params(self, request) -> None:
        allowed = self.allowed_query_params()
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise ValidationError(
                {
                    name: [f"Unknown query parameter {name!r}; this endpoint takes: {known}."]
                    for name in unknown
                }
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.check_query_params(request)
        if request.method in WRITE_METHODS:
            check_body_size(request)

    def perform_content_negotiation(self, request, force=False):
        renderer, media_type = super().perform_content_negotiation(request, force)
        if renderer.format == "csv" and self.action not in self.list_actions:
            if force:
                return JSONRenderer(), JSONRenderer.media_type
            raise NotAcceptable("CSV is available on list endpoints only; this is a detail view.")
        return renderer, media_type

    def finalize_response(self, request, response, *args, **kwargs):
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and renderer is not None and renderer.format == "csv":
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def etag_of(data) -> str:
    return '"' + hashlib.sha256(JSONRenderer().render(data)).hexdigest()[:32] + '"'


def if_match_values(header: str) -> set[str]:
    values = set()
    for item in header.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        if item:
            values.add(item)
    return values


class ServiceViewSet(ApiMixin, viewsets.ModelViewSet):
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    # -- services ------------------------------------------------------------------------

    def delete_service(self, instance, *, actor) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def refetch(self, instance):
        """The instance as the list and detail views read it (annotations included)."""
        return self.get_queryset().get(pk=instance.pk)

    # -- conditional requests -------------------------------------------------------------

    def check_precondition(self, instance) -> None:
        header = self.request.headers.get("If-Match")
        if header is None:
            if settings.STOCKPILE_API_REQUIRE_IF_MATCH:
                raise PreconditionRequired()
            return
        values = if_match_values(header)
        if "*" in values:
            return
        current = etag_of(self.get_serializer(instance).data)
        if current not in values:
            raise PreconditionFailed(
                f"The resource has changed since you read it: its ETag is now {current}."
            )

    def _object_for_write(self):
        """The instance, locked for the rest of the transaction (SELECT … FOR UPDATE on
        its row alone: list querysets may aggregate), read again after the lock."""
        instance = self.get_object()
        model = type(instance)
        list(model.objects.select_for_update().filter(pk=instance.pk).values_list("pk"))
        instance = self.refetch(instance)
        self.check_precondition(instance)
        return instance

    # -- actions --------------------------------------------------------------------------

    def list(self, request, *args, **kwargs):
        """The page as rows (see `core.api.rows`): one query reads the page's rows and the
        count of the list, the page's ids a subquery of the filtered, ordered queryset;
        model instances only when the serializer needs them."""
        queryset = self.filter_queryset(self.get_queryset())
        plan = cached_row_plan(
            self.get_serializer_class(), queryset.query.annotations, self.get_serializer_context()
        )
        if plan is None or not hasattr(self.paginator, "slice_of"):
            return super().list(request, *args, **kwargs)
        ids = queryset.prefetch_related(None).values("pk")
        page_ids = self.paginator.slice_of(ids, request)
        if page_ids is None:  # page=last: count first
            page = self.paginator.page_of(ids, request)
            data = plan.page(self.get_queryset(), page.object_list, ordered_as=queryset)
            return self.get_paginated_response(data)
        # the count rides along with the page's rows (one round trip); a page with no rows
        # (past the end, or an empty list) counts on its own
        data, count = plan.page(self.get_queryset(), page_ids, ordered_as=queryset, count=ids)
        if count is None:
            count = ids.count()
        self.paginator.counted(count)
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = etag_of(response.data)
        return response

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            instance = serializer.save(actor=request.user)
        data = self.get_serializer(self.refetch(instance)).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"ETag": etag_of(data)})

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            instance = self._object_for_write()
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            instance = serializer.save(actor=request.user)
        data = self.get_serializer(self.refetch(instance)).data
        return Response(data, headers={"ETag": etag_of(data)})

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            instance = self._object_for_write()
            try:
                self.delete_service(instance, actor=request.user)
            except DjangoValidationError as exc:
                raise Conflict(" ".join(exc.messages)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class HistoryMixin:
    """Adds `GET …/{id}/history/`: every change of the record, newest first. The history of
    a deleted record is at `/api/v1/history/?model=…&object_id=…`."""

    @extend_schema(
        summary="Change history of this record",
        description="Every create, change and delete, newest first: when, who, through "
        "which door (admin, api, import, task, shell) and the fields as they were.",
        filters=False,
        responses=HistoryRowSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def history(self, request, *args, **kwargs):
        instance = self.get_object()
        rows = (
            type(instance).history.filter(id=instance.pk).order_by("-history_date", "-history_id")
        )
        page = self.paginate_queryset(rows)
        rows = HistoryRowSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(rows.data)
