"""Admin for the catalogue, and the admin base classes both apps use.

Every save and delete made in the admin goes through the services (`tracked_save`,
`tracked_delete` and the record services), so the admin writes history with the door
"admin" and the editor's name, and validates exactly as the API and the importers do.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR
from django.db import models, transaction
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from inventory.headline import headline_of
from inventory.models import (
    Country,
    CountryAlias,
    LedgerEntry,
    StockEstimate,
    WeaponSystem,
    WeaponSystemAlias,
)
from inventory.search import parties_ranked, systems_ranked
from inventory.services import tracked_delete, tracked_save
from inventory.values import format_date


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


class RankedSearchMixin:
    """Search results (the autocomplete's, and the list's unless a column is sorted) ordered
    by how well they match: exact, then prefix, then contains (see inventory.search)."""

    search_ranked = None  # (queryset, term) -> the queryset annotated and ordered

    def get_search_results(self, request, queryset, search_term):
        matched, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not search_term.strip():
            return matched, may_have_duplicates
        matching = queryset.filter(pk__in=matched.values("pk"))
        if ORDER_VAR in request.GET:  # a list sorted by a column stays so
            return matching, False
        return type(self).search_ranked(matching, search_term), False


class CountryAliasInline(TrackedInlineMixin, admin.TabularInline):
    model = CountryAlias
    fields = ["alias"]


class EstimateRangesMixin:
    """The ranges and grades of an estimate as columns and read-only fields."""

    @admin.display(description="on hand")
    def on_hand_range(self, obj):
        return headline_of(obj)

    @admin.display(description="incoming")
    def incoming_range(self, obj):
        return obj.incoming.display()

    @admin.display(description="outgoing")
    def outgoing_range(self, obj):
        return obj.outgoing.display()

    @admin.display(description="projected")
    def projected_range(self, obj):
        return obj.projected.display()

    @admin.display(description="grades")
    def grades(self, obj):
        if not obj.best_grade:
            return "unsourced"
        return f"{obj.best_grade}–{obj.weakest_grade}"


class EstimateInline(EstimateRangesMixin, admin.TabularInline):
    """The current estimates of a country or a system, read-only, each linking to its
    explanation ("why this number")."""

    model = StockEstimate
    extra = 0
    can_delete = False
    show_change_link = False
    fields = [
        "subject",
        "scope",
        "on_hand_range",
        "incoming_range",
        "outgoing_range",
        "projected_range",
        "grades",
        "record_count",
        "flags",
        "why",
    ]
    readonly_fields = fields
    verbose_name_plural = "current stock estimates (derived from the ledger)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("holder", "system")

    @admin.display(description="flags")
    def flags(self, obj):
        flags = []
        if obj.inconsistent:
            flags.append("INCONSISTENT")
        if not obj.has_baseline:
            flags.append("no baseline")
        if obj.unsourced_count:
            flags.append(f"{obj.unsourced_count} unsourced")
        return ", ".join(flags) or "–"

    @admin.display(description="why this number")
    def why(self, obj):
        url = reverse("admin:inventory_stockestimate_change", args=[obj.pk])
        return format_html('<a href="{}">explanation</a>', url)


class HolderEstimateInline(EstimateInline):
    fk_name = "holder"

    @admin.display(description="system")
    def subject(self, obj):
        return obj.system


class SystemEstimateInline(EstimateInline):
    fk_name = "system"

    @admin.display(description="holder")
    def subject(self, obj):
        return obj.holder


def without_estimates_on_add(inlines, obj):
    """The add page has no estimates to show (and no management form to post for them)."""
    if obj is None:
        return [inline for inline in inlines if not issubclass(inline, EstimateInline)]
    return inlines


@admin.action(description="Refresh the stock estimates of the selected now")
def refresh_estimates_now(modeladmin, request, queryset):
    from django.db.models import Q

    from inventory.refresh import estimates_refresh_pairs

    field = "holder_id" if queryset.model is Country else "system_id"
    ids = list(queryset.values_list("pk", flat=True))
    pairs = set(
        LedgerEntry.objects.filter(Q(**{f"{field}__in": ids}), is_cancelled=False)
        .values_list("holder_id", "system_id")
        .distinct()
    )
    pairs |= set(
        StockEstimate.objects.filter(**{f"{field}__in": ids}).values_list("holder_id", "system_id")
    )
    result = estimates_refresh_pairs(pairs)
    modeladmin.message_user(
        request,
        f"Refreshed the estimates of {result['pairs']} holder × system pair(s).",
        messages.SUCCESS,
    )


@admin.register(Country)
class CountryAdmin(RankedSearchMixin, TrackedAdmin):
    list_display = ["name", "code", "iso_alpha3", "kind", "existed_until"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "iso_alpha3", "official_name", "aliases__alias"]
    search_ranked = staticmethod(parties_ranked)
    inlines = [CountryAliasInline, HolderEstimateInline]
    fields = [
        "code",
        "name",
        "kind",
        "iso_alpha3",
        "official_name",
        ("existed_from", "existed_until"),
        "notes",
    ]
    actions = [refresh_estimates_now]

    def get_inlines(self, request, obj):
        return without_estimates_on_add(self.inlines, obj)


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
class WeaponSystemAdmin(RankedSearchMixin, TrackedAdmin):
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
    search_ranked = staticmethod(systems_ranked)
    autocomplete_fields = ["parent", "origin"]
    inlines = [WeaponSystemAliasInline, VariantInline, SystemEstimateInline]
    actions = [refresh_estimates_now]

    def get_inlines(self, request, obj):
        return without_estimates_on_add(self.inlines, obj)

    fieldsets = [
        (None, {"fields": ["name", "parent", "description", "counting_unit"]}),
        ("Classification", {"fields": ["unroca_category", "sipri_category"]}),
        ("Origin and performance", {"fields": ["manufacturer", "origin", "range_km"]}),
        ("Notes", {"fields": ["notes"]}),
    ]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The stock ledger, read-only: rows are posted and cancelled by the records' services."""

    list_display = [
        "posted_at",
        "holder",
        "system",
        "kind",
        "quantity_low",
        "quantity_high",
        "when",
        "grade",
        "origin_label",
        "is_cancelled",
    ]
    list_filter = ["kind", "is_cancelled", "date_precision"]
    list_select_related = ["holder", "system"]
    search_fields = ["origin_label", "holder__name", "system__name", "origin_model"]
    date_hierarchy = "posted_at"
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description="date", ordering="date")
    def when(self, obj):
        """At its precision: Nov 2024, 2024."""
        return format_date(obj.date, obj.date_precision)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
