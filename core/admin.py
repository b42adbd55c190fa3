"""Admin base classes every app uses.

Every save and delete made in the admin goes through the tracked write kernel
(`core.services.tracked_save` / `tracked_delete`) or an app's services, so the admin writes
history with the door "admin" and the editor's name, and validates exactly as the API and the
importers do.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from simple_history.admin import SimpleHistoryAdmin

from core.admin_access import DeclaredPermissionsMixin, model_admin_requires
from core.admin_paging import LargeListMixin
from core.admin_versions import ConcurrentEditMixin
from core.services import tracked_delete, tracked_save


class TrackedInlineMixin:
    """Inline rows saved and deleted through the services."""

    extra = 0


class TrackedAdmin(
    LargeListMixin, ConcurrentEditMixin, DeclaredPermissionsMixin, SimpleHistoryAdmin
):
    """A ModelAdmin whose writes go through `tracked_save` / `tracked_delete`, and whose
    change form refuses to save over a change made since it was opened
    (`core.admin_versions`). Its lists estimate their count past 10,000 rows
    (`core.admin_paging`)."""

    history_list_display = ["door", "actor_name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_per_page = 50

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

    @model_admin_requires("view")
    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """A past version of a record. simple_history lets anyone who may view the record
        post this form (a revert); reverting is a change."""
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

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
