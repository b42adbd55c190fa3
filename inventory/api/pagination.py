"""Page-number pagination with a hard size limit; a malformed page or page_size is a 400."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


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

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if (
            raw is not None
            and raw not in self.last_page_strings
            and (not (raw.isascii() and raw.isdigit()) or int(raw) < 1)
        ):
            raise ValidationError(
                {self.page_query_param: [f"{raw!r} is not a page number (1, 2, …)."]}
            )
        return super().paginate_queryset(queryset, request, view)
