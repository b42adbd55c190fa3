"""The admin refuses to save over a change made since the form was opened.

The change form carries, hidden, the id of the record's newest history row when it was
opened (`stockpile_version`). On save, if the record has a newer history row (another editor,
the API, an import, a task), the form is refused with what changed since — field by field,
who, when and through which door — and nothing is written. The refused form then carries
the new version: saving it again, after reading the changes, overwrites them deliberately.

Citations edited inline are rows of their own (with their own history); the check covers
the record's own fields.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ValidationError

VERSION_FIELD = "stockpile_version"


def latest_version(model, pk):
    """The newest history row of the record (None when it has none)."""
    return model.history.filter(id=pk).order_by("-history_id").first()


def _shown(value) -> str:
    text = "(empty)" if value in (None, "") else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def describe_changes(since, latest) -> list[str]:
    """What the history rows after `since` changed, as lines a person reads."""
    lines = []
    who = latest.actor_name or "someone"
    when = latest.history_date.strftime("%Y-%m-%d %H:%M:%S %Z")
    lines.append(f"Saved by {who} at {when} (through {latest.door or 'an unknown door'}).")
    if since is None:
        return lines
    if latest.history_type == "-":
        lines.append("The record was deleted.")
        return lines
    delta = latest.diff_against(since, excluded_fields=["created_at", "updated_at"])
    for change in delta.changes:
        label = latest.instance._meta.get_field(change.field).verbose_name
        lines.append(f"{label}: {_shown(change.old)} → {_shown(change.new)}")
    return lines


class ConcurrentEditForm(forms.ModelForm):
    """A model form that checks the record's version before it is saved."""

    stockpile_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.is_bound:
            latest = latest_version(type(self.instance), self.instance.pk)
            self.initial[VERSION_FIELD] = str(latest.history_id) if latest else ""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        model = type(self.instance)
        latest = latest_version(model, self.instance.pk)
        loaded = (self.data.get(self.add_prefix(VERSION_FIELD)) or "").strip()
        if latest is None or loaded == str(latest.history_id):
            return cleaned
        since = None
        if loaded.isdigit():
            since = model.history.filter(history_id=int(loaded)).first()
        lines = describe_changes(since, latest)
        # Saving the form again (after reading this) overwrites the other change on purpose.
        self.data = self.data.copy()
        self.data[self.add_prefix(VERSION_FIELD)] = str(latest.history_id)
        raise ValidationError(
            [
                f"This {model._meta.verbose_name} was changed after you opened it, and your "
                "changes were not saved. What changed:",
                *lines,
                "Reload the page to start from the current version, or save again to "
                "overwrite these changes with yours.",
            ],
            code="changed_since_opened",
        )


class ConcurrentEditMixin:
    """For a ModelAdmin of a model with history: the version check on its change form."""

    form = ConcurrentEditForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not self.has_change_permission(request, obj):
            return fieldsets
        if VERSION_FIELD in flatten_fieldsets(fieldsets):
            return fieldsets
        (name, options), *rest = fieldsets
        fields = [*options.get("fields", ()), VERSION_FIELD]
        return [(name, {**options, "fields": fields}), *rest]
