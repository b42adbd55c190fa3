"""What each admin action and custom admin view needs, declared where it is defined.

Django runs an admin action for anyone who can see the list unless the action declares
`allowed_permissions`, and a custom view added by `get_urls` checks nothing by itself. So:

- every action declares `allowed_permissions`: Django's own verbs (`view`, `add`, `change`,
  `delete`) or one of `ACTION_PERMISSIONS` below, which `DeclaredPermissionsMixin` answers;
- every custom view is wrapped in `requires(...)`, which refuses (403) a user without all
  the named permissions before the view runs, and records them on the view as
  `admin_permissions` so that a test can list them.

tests/transfers/test_admin_permissions.py walks `admin.site` (every registered model admin's
actions and `get_urls()`, and the site's own URLs) against every role: an action or view
that declares nothing fails it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.core.exceptions import PermissionDenied

# Action permission name (as used in `allowed_permissions`) -> the Django permission a user
# must hold, registered by the apps that declare them (`register_action_permission`).
# Django's own verbs map to "<app>.<verb>_<model>" of the model admin's model.
ACTION_PERMISSIONS: dict[str, str] = {}


def register_action_permission(name: str, permission: str) -> None:
    """Declare an action permission name (e.g. "send_report") and the Django permission
    ("reports.send_report") it stands for."""
    ACTION_PERMISSIONS[name] = permission


def action_permission(model_admin, name: str) -> str:
    """The Django permission behind an action's declared permission name."""
    if name in ACTION_PERMISSIONS:
        return ACTION_PERMISSIONS[name]
    opts = model_admin.opts
    return f"{opts.app_label}.{name}_{opts.model_name}"


class DeclaredPermissionsMixin:
    """`has_<name>_permission` for every name registered in `ACTION_PERMISSIONS`."""

    def __getattr__(self, attribute: str):
        name = attribute.removeprefix("has_").removesuffix("_permission")
        if attribute == f"has_{name}_permission" and name in ACTION_PERMISSIONS:
            return lambda request, *args: request.user.has_perm(ACTION_PERMISSIONS[name])
        raise AttributeError(attribute)


def requires(*permissions: str) -> Callable:
    """Decorate a custom admin view (a function of the request): 403 unless the user holds
    every permission ("app.codename"; `{name}` is filled in from the URL's keyword
    arguments, e.g. "transfers.view_{record_type}")."""

    def decorate(view):
        @functools.wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perms([p.format(**kwargs) for p in permissions]):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        checked.admin_permissions = tuple(permissions)
        return checked

    return decorate


def model_admin_requires(*names: str) -> Callable:
    """Decorate a custom view that is a method of a model admin: 403 unless the user holds
    every permission, named as in `allowed_permissions` (`view`, `change`, `send_report`, ...)
    or in full ("app.codename")."""

    def decorate(view):
        @functools.wraps(view)
        def checked(self, request, *args, **kwargs):
            needed = [name if "." in name else action_permission(self, name) for name in names]
            if not request.user.has_perms(needed):
                raise PermissionDenied
            return view(self, request, *args, **kwargs)

        checked.admin_permissions = tuple(names)
        return checked

    return decorate


def mask_email(address: str) -> str:
    """An address as a viewer sees it: first letter and domain (`a***@example.org`)."""
    if not address:
        return ""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else f"{local[:1]}***"
