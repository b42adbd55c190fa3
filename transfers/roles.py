"""The three roles, as auth groups with model permissions.

- viewer: reads everything (view permission on every model of the apps).
- editor: creates and changes records and evidence; cannot delete records or manage users.
- administrator: everything in the apps, plus users, groups, tokens, schedules and login
  lockouts (django-axes: lifting one is deleting its access attempt).

Two permissions are not Django's add/change/delete/view (registered with
core.admin_access.register_action_permission by the apps that own them):

- `reports.send_report` (send due reports now, release a delivery to be sent again):
  administrators only; it mails people.
- `stock.refresh_stockestimate` (recompute estimates on demand): editors and
  administrators.

Migration 0002 creates the groups; `roles_sync` runs again after every migrate so that models
added later get their permissions too.
"""

from __future__ import annotations

VIEWER = "viewer"
EDITOR = "editor"
ADMINISTRATOR = "administrator"
ROLE_NAMES = (VIEWER, EDITOR, ADMINISTRATOR)

APPS = ("inventory", "stock", "transfers", "reports")
ADMIN_EXTRA_APPS = ("auth", "knox", "django_celery_beat", "axes")
# Derived data that editors may view but not change by hand.
READ_ONLY_FOR_EDITORS = (
    "ledgerentry",
    "stockestimate",
    "estimatepoint",
    "staleestimate",
    "importbatch",
)
# Permissions beyond add/change/view that editors hold.
EDITOR_EXTRA = ("refresh_stockestimate",)
# Permissions only administrators hold (they get every permission of the two apps).
ADMINISTRATOR_ONLY = ("send_report",)


def roles_sync(group_model, permission_model) -> None:
    """Create the groups if missing and give each the permissions of its role."""
    perms = permission_model.objects.select_related("content_type")
    app_perms = [p for p in perms if p.content_type.app_label in APPS]
    viewer = [p for p in app_perms if p.codename.startswith("view_")]
    editor = viewer + [
        p
        for p in app_perms
        if p.codename.split("_", 1)[0] in ("add", "change")
        and p.content_type.model not in READ_ONLY_FOR_EDITORS
    ]
    editor += [p for p in app_perms if p.codename in EDITOR_EXTRA]
    administrator = app_perms + [p for p in perms if p.content_type.app_label in ADMIN_EXTRA_APPS]
    for name, granted in ((VIEWER, viewer), (EDITOR, editor), (ADMINISTRATOR, administrator)):
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(granted)
