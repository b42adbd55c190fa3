"""Admin for the catalogue: parties and weapon systems with their aliases.

The stock app adds its estimates inline and its refresh action to these pages
(`stock.admin`), so the catalogue does not know about estimates.
"""

from __future__ import annotations

from django.contrib import admin

from core.admin import TrackedAdmin, TrackedInlineMixin
from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias


class CountryAliasInline(TrackedInlineMixin, admin.TabularInline):
    model = CountryAlias
    fields = ["alias"]


@admin.register(Country)
class CountryAdmin(TrackedAdmin):
    list_display = ["name", "code", "iso_alpha3", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "iso_alpha3", "official_name", "aliases__alias"]
    inlines = [CountryAliasInline]
    fields = ["code", "name", "kind", "iso_alpha3", "official_name", "notes"]


class WeaponSystemAliasInline(TrackedInlineMixin, admin.TabularInline):
    model = WeaponSystemAlias
    fields = ["alias", "kind"]


class VariantInline(admin.TabularInline):
    model = WeaponSystem
    fk_name = "parent"
    fields = ["name", "counting_unit", "range_km"]
    show_change_link = True
    extra = 0
    can_delete = False
    verbose_name = "variant"
    verbose_name_plural = "variants"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WeaponSystem)
class WeaponSystemAdmin(TrackedAdmin):
    list_display = [
        "name",
        "parent",
        "counting_unit",
        "unroca_category",
        "sipri_category",
        "origin",
        "manufacturer",
        "range_km",
    ]
    list_filter = [
        "unroca_category",
        "sipri_category",
        "counting_unit",
        ("parent", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["parent", "origin"]
    search_fields = ["name", "aliases__alias", "manufacturer", "description"]
    autocomplete_fields = ["parent", "origin"]
    inlines = [WeaponSystemAliasInline, VariantInline]

    fieldsets = [
        (None, {"fields": ["name", "parent", "description", "counting_unit"]}),
        ("Classification", {"fields": ["unroca_category", "sipri_category"]}),
        ("Origin and performance", {"fields": ["manufacturer", "origin", "range_km"]}),
        ("Notes", {"fields": ["notes"]}),
    ]
