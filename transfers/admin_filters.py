"""List filters of the record admins, named as the API's filters are: system or family (a
family includes its variants), grade (at least), date range, unsourced (SourcedFilter in
transfers.admin), parties.

The choices of the party and system filters are the parties and systems some record names,
found by one index probe per party or system (`EXISTS` on the foreign key's index), not by
a `DISTINCT` over the whole table: at a million records that read every row on every page
view (docs/performance.md)."""

from __future__ import annotations

import calendar
import datetime as dt

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Exists, OuterRef, Q

from core.choices import DatePrecision
from core.forms import parse_partial_date
from inventory.models import WeaponSystem
from inventory.selectors import weapon_system_family_ids
from transfers.models import Citation


class SystemFamilyFilter(admin.SimpleListFilter):
    """The systems the records name, and their families: a family includes its variants."""

    title = "system or family"
    parameter_name = "system_family"

    def lookups(self, request, model_admin):
        named = model_admin.model.objects.filter(system_id=OuterRef("pk"))
        systems = {s.pk: s for s in WeaponSystem.objects.filter(Exists(named))}
        families = {s.parent_id for s in systems.values() if s.parent_id is not None}
        for family in WeaponSystem.objects.filter(pk__in=families - set(systems)):
            systems[family.pk] = family
        choices = []
        for system in sorted(systems.values(), key=lambda s: s.name.lower()):
            label = f"{system.name} (family)" if system.pk in families else system.name
            choices.append((str(system.pk), label))
        return choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        system = WeaponSystem.objects.filter(pk=self.value()).first()
        if system is None:
            raise IncorrectLookupParameters(f"No weapon system with id {self.value()!r}.")
        return queryset.filter(system_id__in=weapon_system_family_ids(system))


class PartiesNamedFilter(admin.RelatedFieldListFilter):
    """The parties (or other related rows) that some row of the list names, as Django's
    RelatedOnlyFieldListFilter shows, found with an `EXISTS` per party on the foreign key's
    index instead of a `DISTINCT` over every row."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        named = model_admin.get_queryset(request).filter(**{self.field_path: OuterRef("pk")})
        return field.get_choices(
            include_blank=False, limit_choices_to=Q(Exists(named)), ordering=ordering
        )


class GradeFilter(admin.SimpleListFilter):
    """Records with at least one citation graded this well or better (reliability and
    credibility both), as the reports' minimum grade."""

    title = "grade (at least)"
    parameter_name = "grade"
    THRESHOLDS = ["A1", "B2", "C3", "D4", "E5"]

    def lookups(self, request, model_admin):
        return [(grade, f"{grade} or better") for grade in self.THRESHOLDS]

    def queryset(self, request, queryset):
        grade = self.value()
        if not grade:
            return queryset
        if grade not in self.THRESHOLDS:
            raise IncorrectLookupParameters(f"{grade!r} is not one of {self.THRESHOLDS}.")
        letter, digit = grade[0], int(grade[1])
        graded = Q(credibility__lte=digit) & (
            Q(reliability__lte=letter, reliability__gt="")
            | Q(reliability="", source__reliability__lte=letter)
        )
        model_name = queryset.model._meta.model_name
        return queryset.filter(
            Exists(Citation.objects.filter(graded, **{model_name: OuterRef("pk")}))
        )


def _period_end(text: str) -> dt.date:
    value, precision = parse_partial_date(text)
    if precision == DatePrecision.YEAR:
        return value.replace(month=12, day=31)
    if precision == DatePrecision.MONTH:
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    return value


class DateRangeFilter(admin.FieldListFilter):
    """From and to dates, each typed as 2024-11-05, 2024-11 or 2024 (a month or a year
    counts whole: "to 2024" is up to 31 December 2024)."""

    template = "admin/transfers/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.after_name = f"{field_path}__gte"
        self.before_name = f"{field_path}__lte"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = f"{self.title} range"

    def expected_parameters(self):
        return [self.after_name, self.before_name]

    def has_output(self):
        return True

    def _value(self, name) -> str:
        value = self.used_parameters.get(name)
        if isinstance(value, list):
            value = value[-1] if value else ""
        return (value or "").strip()

    def queryset(self, request, queryset):
        after, before = self._value(self.after_name), self._value(self.before_name)
        try:
            if after:
                queryset = queryset.filter(**{self.after_name: parse_partial_date(after).value})
            if before:
                queryset = queryset.filter(**{self.before_name: _period_end(before)})
        except ValueError as exc:
            raise IncorrectLookupParameters(f"Not a date: {after or before!r}.") from exc
        return queryset

    def choices(self, changelist):
        expected = set(self.expected_parameters())
        hidden = [
            (name, value)
            for name, values in self.request.GET.lists()
            if name not in expected and name != "p"
            for value in values
        ]
        yield {
            "after_name": self.after_name,
            "before_name": self.before_name,
            "after": self._value(self.after_name),
            "before": self._value(self.before_name),
            "hidden": hidden,
            "clear": changelist.get_query_string(remove=list(expected)),
        }
