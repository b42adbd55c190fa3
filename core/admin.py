"""Admin base classes every app uses.

Every save and delete made in the admin goes through the tracked write kernel
(`core.services.tracked_save` / `tracked_delete`) or an app's services, so the admin writes
history with the door "admin" and the editor's name, and validates exactly as the API and the
importers do.
"""

from __future__ import annotations

from django.db import models, transaction
from simple_history.admin import SimpleHistoryAdmin

from core.services import tracked_delete, tracked_save


class TrackedInlineMixin:
    """Inline rows saved and deleted through the services."""

    extra = 0


class TrackedAdmin(SimpleHistoryAdmin):
    """A ModelAdmin whose writes go through `tracked_save` / `tracked_delete`."""

    history_list_display = ["door", "actor_name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_per_page = 50
    show_full_result_count = False

    def get_inlines(self, request, obj):
        """Inlines that have nothing to show on the add page say so with `show_on_add`."""
        inlines = super().get_inlines(request, obj)
        if obj is None:
            return [inline for inline in inlines if getattr(inline, "show_on_add", True)]
        return inlines

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
