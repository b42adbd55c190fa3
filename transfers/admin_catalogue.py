"""The unresolved dataset names, by record count (the records live here, so the list does
too). Read-only: an editor resolves a name by deciding its proposals, or by adding it as an
alias of a catalogue entry on the weapon system page."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from inventory.models import UnresolvedSystemName
from transfers.selectors import unresolved_system_names


@admin.register(UnresolvedSystemName)
class UnresolvedSystemNameAdmin(admin.ModelAdmin):
    """Needs the view permission of "unresolved dataset name" (every role has it)."""

    list_display = ["name", "records", "candidates", "sipri_category", "description"]
    search_fields = ["name", "aliases__alias"]
    list_filter = ["sipri_category"]
    list_per_page = 100
    show_full_result_count = False

    def get_queryset(self, request):
        return unresolved_system_names()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="records", ordering="record_count")
    def records(self, obj):
        return obj.record_count

    @admin.display(description="candidates", ordering="pending_count")
    def candidates(self, obj):
        if not obj.pending_count:
            return "–"
        url = reverse("admin:inventory_systemaliasproposal_changelist")
        return format_html(
            '<a href="{}?system__id__exact={}&status__exact=pending">{} pending</a>',
            url,
            obj.pk,
            obj.pending_count,
        )
