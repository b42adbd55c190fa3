"""Admin for the catalogue, and the admin base classes both apps use.

Every save and delete made in the admin goes through the services (`tracked_save`,
`tracked_delete` and the record services), so the admin writes history with the door
"admin" and the editor's name, and validates exactly as the API and the importers do.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models, transaction
from simple_history.admin import SimpleHistoryAdmin

from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias
from inventory.services import tracked_delete, tracked_save


class TrackedInlineMixin:
    """Inline rows saved and deleted through the services."""

    extra = 0


class TrackedAdmin(SimpleHistoryAdmin):
    """A ModelAdmin whose writes go through `tracked_save` / `tracked_delete`."""

    history_list_display = ["door", "actor_name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_per_page = 50
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        tracked_save(obj, actor=request.user)

    def delete_model(self, request, obj):
        tracked_delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        with transaction.atomic():
            instances = formset.save(commit=False)
            for obj in formset.deleted_objects:
                self.delete_inline(request, obj)
            for obj in instances:
                self.save_inline(request, form.instance, obj)
            formset.save_m2m()

    def save_inline(self, request, parent, obj):
        tracked_save(obj, actor=request.user)

    def delete_inline(self, request, obj):
        tracked_delete(obj, actor=request.user)


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
