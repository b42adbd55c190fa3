"""Filters that refuse what they do not understand (the base every filterset stands on).

- `StrictFilterSet`: a malformed value is a 400 naming the parameter (django-filter's
  backend raises), and ranges (`date_after` ≤ `date_before`) are checked.
- `StrictOrderingFilter`: an unknown ordering field is a 400 (DRF would ignore it).
- `CSVChoiceFilter`, `StrictBooleanFilter`: comma-separated choices and true/false only.
- `FilterBackend`: django-filter's backend, whose 400 does not break on a `%` in the value
  (django-filter formats every message with `%`, so `?donor=50%` was a 500), and which does
  not build the filterset of a request that names none of its filters.

Unknown query parameters are refused by the views (`core.api.viewsets.ApiMixin`).
"""

from __future__ import annotations

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.settings import api_settings


def filter_errors(errors) -> ValidationError:
    """A filterset's form errors as a 400, each message formatted only with its own params
    (messages quote the value, which may hold a `%`)."""
    details = {}
    for field, error_list in errors.as_data().items():
        details[field] = [
            (error.message % error.params) if error.params else str(error.message)
            for error in error_list
        ]
    return ValidationError(details)


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not names_a_filter(
            request.query_params, filterset_class
        ):
            # No filter asked for: each would leave the list as it is (an empty value
            # filters nothing), so the filterset is not built (a deep copy of every filter,
            # a form and its cleaning: a tenth of a list page's time).
            return queryset
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise filter_errors(filterset.errors)
        return filterset.qs


def names_a_filter(params, filterset_class) -> bool:
    """Whether a query parameter is one of the filterset's, or one of a range filter's
    (`date_after` of `date`)."""
    names = tuple(filterset_class.base_filters)
    return any(param == name or param.startswith(f"{name}_") for param in params for name in names)


def tokens(value: str) -> list[str]:
    return [token.strip() for token in value.split(",") if token.strip()]


class CSVChoiceField(forms.CharField):
    """Comma-separated values, each one of `choices`."""

    def __init__(self, *args, choices=(), coerce=str, **kwargs):
        self.valid = {str(value): value for value, _ in choices}
        self.coerce = coerce
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        values = tokens(value)
        bad = [token for token in values if token not in self.valid]
        if bad or not values:
            raise forms.ValidationError(
                f"{', '.join(bad) or repr(value)} is not one of: {', '.join(self.valid)}."
            )
        return [self.coerce(token) for token in values]


@extend_schema_field(OpenApiTypes.STR)
class CSVChoiceFilter(django_filters.Filter):
    """`name=a,b`: any of the values. Give `method` to say what a match is."""

    field_class = CSVChoiceField


class StrictBooleanField(forms.CharField):
    TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        if value.lower() in self.TRUE:
            return True
        if value.lower() in self.FALSE:
            return False
        raise forms.ValidationError(f"{value!r} is not a boolean; use true or false.")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    """true/false (1/0, yes/no); anything else is a 400, not ignored."""

    field_class = StrictBooleanField

    def filter(self, qs, value):
        if value is None:
            return qs
        return super().filter(qs, value)


class StrictFilterSet(django_filters.FilterSet):
    """Base of every filterset. `ranges` lists (low, high) parameter pairs to check."""

    ranges: tuple[tuple[str, str], ...] = ()

    def get_form_class(self):
        form_class = super().get_form_class()
        ranges = self.ranges

        class RangeCheckedForm(form_class):
            def clean(self):
                cleaned = super().clean()
                for low, high in ranges:
                    start, end = cleaned.get(low), cleaned.get(high)
                    if start is not None and end is not None and start > end:
                        self.add_error(low, f"{low} ({start}) is after {high} ({end}).")
                return cleaned

        return RangeCheckedForm


class StrictOrderingFilter(OrderingFilter):
    """Refuses unknown ordering fields and adds the id as a tie-breaker for stable pages.

    With `?search=` and no `?ordering=`, a view that names a ranking (`search_ranked`, e.g.
    `inventory.search.parties_ranked`) lists its matches best first, as the admin's
    autocomplete does: `?search=UK` gives the United Kingdom before Ukraine.
    """

    def filter_queryset(self, request, queryset, view):
        ranked = getattr(view, "search_ranked", None)
        term = request.query_params.get(api_settings.SEARCH_PARAM, "").strip()
        if ranked is not None and term and self.ordering_param not in request.query_params:
            return ranked(queryset, term)
        return super().filter_queryset(request, queryset, view)

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        fields = tokens(raw)
        valid = [item[0] for item in self.get_valid_fields(queryset, view, {"request": request})]
        bad = [field for field in fields if field.lstrip("-") not in valid]
        if bad or not fields:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(bad) or repr(raw)}; use one of: "
                        f"{', '.join(valid)} (prefix - for descending)."
                    ]
                }
            )
        if not any(field.lstrip("-") in ("id", "pk") for field in fields):
            fields.append("-id" if fields[0].startswith("-") else "id")
        return fields
