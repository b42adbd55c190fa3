"""Page-number pagination with a hard size limit; a malformed page or page_size is a 400."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination


class KnownCountPaginator(Paginator):
    """A paginator told its count (read with the page's rows) instead of counting."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return self.known_count


class StockpilePagination(PageNumberPagination):
    page_size_query_param = "page_size"

    @property
    def page_size(self) -> int:
        return settings.STOCKPILE_API_PAGE_SIZE

    @property
    def max_page_size(self) -> int:
        return settings.STOCKPILE_API_MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError(
                {self.page_size_query_param: [f"{raw!r} is not a positive whole number."]}
            )
        if int(raw) > self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"{raw} is above the limit of {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        """What the pagination accepts, stated in the schema: a page from 1 (or "last"), a
        page size from 1 to the limit."""
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": 'A page number from 1 (or "last"); past the last page: 404.',
                "schema": {
                    "oneOf": [
                        {"type": "integer", "minimum": 1},
                        {"type": "string", "enum": list(self.last_page_strings)},
                    ]
                },
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {self.max_page_size} "
                f"(default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def paginate_queryset(self, queryset, request, view=None):
        page = self.page_of(queryset, request)
        return None if page is None else list(page)

    def _checked_page_param(self, request) -> str | None:
        raw = request.query_params.get(self.page_query_param)
        if (
            raw is not None
            and raw not in self.last_page_strings
            and (not (raw.isascii() and raw.isdigit()) or int(raw) < 1)
        ):
            raise ValidationError(
                {self.page_query_param: [f"{raw!r} is not a page number (1, 2, …)."]}
            )
        return raw

    def slice_of(self, queryset, request):
        """The page's slice of `queryset` (unevaluated) before anything is counted, or None
        when the page cannot be known without the count (`page=last`): the list then reads
        the count with the page's rows and calls `counted`."""
        raw = self._checked_page_param(request)
        if raw in self.last_page_strings:
            return None
        self.request = request
        size = self.get_page_size(request)
        number = int(raw) if raw is not None else 1
        self._pending = (queryset, size, number)
        return queryset[(number - 1) * size : number * size]

    def counted(self, count: int):
        """The page of the last `slice_of`, now that its count is known (a 404 past the
        last page, as `page_of`)."""
        queryset, size, number = self._pending
        paginator = KnownCountPaginator(queryset, size, count=count)
        try:
            self.page = paginator.page(number)
        except InvalidPage as exc:
            raise NotFound(
                self.invalid_page_message.format(page_number=number, message=str(exc))
            ) from exc
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return self.page

    def page_of(self, queryset, request):
        """The page (None without pagination), its `object_list` still an unevaluated slice
        of `queryset`, so that a list can read it inside another query."""
        self._checked_page_param(request)
        # As PageNumberPagination.paginate_queryset, but without evaluating the page.
        self.request = request
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size)
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(
                self.invalid_page_message.format(page_number=page_number, message=str(exc))
            ) from exc
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return self.page
