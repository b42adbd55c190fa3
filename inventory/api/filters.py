"""Filters on the catalogue: parties and systems by code, id, name or alias.

- `PartyFilter`: a party by ISO/party code, id or alias (comma-separated for several);
  an unknown one is a 400, never an empty or a full table.
- `SystemFilter` / `SystemFamilyFilter`: a system by id, name or alias; the family filter
  takes the system and every variant below it.

Unknown query parameters are refused by the views (`core.api.viewsets.ApiMixin`).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.api.filters import StrictBooleanFilter, StrictFilterSet, tokens
from inventory.choices import CountingUnit, PartyKind, SipriCategory, UnrocaCategory
from inventory.models import Country, WeaponSystem
from inventory.selectors import country_resolve, weapon_system_family_ids, weapon_system_resolve

UNDISCLOSED = "undisclosed"


class PartyField(forms.CharField):
    """Comma-separated parties; each an id, a code ("UA", "NATO") or an alias ("UAE")."""

    def __init__(self, *args, allow_undisclosed: bool = False, **kwargs):
        self.allow_undisclosed = allow_undisclosed
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        resolved: list[int | None] = []
        for token in tokens(value):
            if self.allow_undisclosed and token.lower() == UNDISCLOSED:
                resolved.append(None)
                continue
            if token.isascii() and token.isdigit():
                party = Country.objects.filter(pk=int(token)).first()
            else:
                party = country_resolve(token)
            if party is None:
                raise forms.ValidationError(
                    f"No party is known as {token!r}: use an ISO 3166 code (UA), a party code "
                    "(NATO), an alias (UAE) or an id."
                )
            resolved.append(party.pk)
        if not resolved:
            raise forms.ValidationError("Name at least one party.")
        return resolved


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "example": "UA,PL",
        "description": "Parties, comma-separated: a code (UA, NATO), an alias (UAE) or an id; "
        "an unknown one is a 400.",
    }
)
class PartyFilter(django_filters.Filter):
    field_class = PartyField

    def filter(self, qs, value):
        if value is None:
            return qs
        ids = [pk for pk in value if pk is not None]
        condition = Q(**{f"{self.field_name}__in": ids})
        if None in value:
            condition |= Q(**{f"{self.field_name}__isnull": True})
        return qs.filter(condition)


class SystemField(forms.CharField):
    """Comma-separated systems; each an id, a name or an alias ("MGM-140")."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        systems = []
        for token in tokens(value):
            if token.isascii() and token.isdigit():
                system = WeaponSystem.objects.filter(pk=int(token)).first()
            else:
                system = weapon_system_resolve(token)
            if system is None:
                raise forms.ValidationError(
                    f"No weapon system is known as {token!r}: use an id, a name or an alias."
                )
            systems.append(system)
        if not systems:
            raise forms.ValidationError("Name at least one weapon system.")
        return systems


@extend_schema_field(OpenApiTypes.STR)
class SystemFilter(django_filters.Filter):
    field_class = SystemField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(**{f"{self.field_name}__in": [system.pk for system in value]})


class SystemFamilyFilter(SystemFilter):
    """The system and all its variants, at any depth."""

    def filter(self, qs, value):
        if value is None:
            return qs
        ids = {pk for system in value for pk in weapon_system_family_ids(system)}
        return qs.filter(**{f"{self.field_name}__in": sorted(ids)})


# -- the catalogue --------------------------------------------------------------------------


class CountryFilterSet(StrictFilterSet):
    code = django_filters.CharFilter(method="filter_code", help_text="Codes, comma-separated.")
    kind = django_filters.ChoiceFilter(choices=PartyKind.choices)

    class Meta:
        model = Country
        fields = ["code", "kind"]

    def filter_code(self, queryset, name, value):
        codes = [code.upper() for code in tokens(value)]
        return queryset.filter(code__in=codes) if codes else queryset


class WeaponSystemFilterSet(StrictFilterSet):
    parent = SystemFilter(field_name="parent", help_text="Direct variants of this system.")
    system_family = SystemFamilyFilter(
        field_name="pk", help_text="This system and every variant below it."
    )
    origin = PartyFilter(field_name="origin")
    unroca_category = django_filters.ChoiceFilter(choices=UnrocaCategory.choices)
    sipri_category = django_filters.ChoiceFilter(choices=SipriCategory.choices)
    counting_unit = django_filters.ChoiceFilter(choices=CountingUnit.choices)
    is_family = StrictBooleanFilter(
        field_name="parent", lookup_expr="isnull", help_text="true: only the roots of families."
    )

    class Meta:
        model = WeaponSystem
        fields = [
            "parent",
            "system_family",
            "origin",
            "unroca_category",
            "sipri_category",
            "counting_unit",
            "is_family",
        ]
