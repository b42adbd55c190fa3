"""Permissions follow the roles (transfers.roles): Django model permissions, with the view
permission required for reads. Anonymous reads only when STOCKPILE_API_ANONYMOUS_READ is on."""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions


def anonymous_read_allowed(request) -> bool:
    return (
        request.method in SAFE_METHODS
        and not request.user.is_authenticated
        and settings.STOCKPILE_API_ANONYMOUS_READ
    )


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
        return super().has_permission(request, view)
