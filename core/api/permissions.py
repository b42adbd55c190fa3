"""Permissions follow the roles (transfers.roles): Django model permissions, with the view
permission required for reads. Anonymous reads only when STOCKPILE_API_ANONYMOUS_READ is on.

A request's permissions are read in one query (the user's own and their groups', as a
UNION) and kept on its user for the request's life, where Django's ModelBackend keeps
them (`_perm_cache`): ModelBackend alone would read them in two. With a token on
PostgreSQL they come with the token's own query (`core.api.authentication`), and none is
read here."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Permission
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions


def anonymous_read_allowed(request) -> bool:
    return (
        request.method in SAFE_METHODS
        and not request.user.is_authenticated
        and settings.STOCKPILE_API_ANONYMOUS_READ
    )


def load_permissions(user) -> None:
    """Fill ModelBackend's per-user cache of "app_label.codename" names with one query.
    Superusers and inactive or anonymous users are left to ModelBackend (it answers them
    without reading these)."""
    if (
        not user.is_authenticated
        or not user.is_active
        or user.is_superuser
        or hasattr(user, "_perm_cache")
    ):
        return
    columns = ("content_type__app_label", "codename")
    own = Permission.objects.filter(user=user).order_by().values_list(*columns)
    grouped = Permission.objects.filter(group__user=user).order_by().values_list(*columns)
    user._perm_cache = {f"{app}.{codename}" for app, codename in own.union(grouped)}


class RolePermissions(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if anonymous_read_allowed(request):
            return True
        load_permissions(request.user)
        return super().has_permission(request, view)
