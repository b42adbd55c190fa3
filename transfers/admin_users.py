"""Users and groups in the admin, without privilege escalation (issue 14, part 9).

An administrator manages users, groups and tokens, but cannot give anyone — themselves
included — more than they hold:

- the *superuser status* is read-only for anyone who is not a superuser, and a superuser's
  account can be seen but not changed or deleted by them (else: set its password, log in);
- *user permissions* and a group's *permissions* offer only permissions the acting user
  holds, and *groups* only groups whose permissions they all hold; anything else posted is
  refused by the form ("Select a valid choice").

Imported from the end of transfers/admin.py.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Q


def held_permissions(user):
    """The Permission rows the user holds (all of them for a superuser)."""
    if user.is_superuser:
        return Permission.objects.all()
    wanted = Q(pk__in=[])
    for name in user.get_all_permissions():
        app_label, codename = name.split(".", 1)
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted)


def grantable_groups(user):
    """Groups none of whose permissions the user lacks."""
    if user.is_superuser:
        return Group.objects.all()
    held = held_permissions(user).values("pk")
    return Group.objects.annotate(
        beyond=Count("permissions", filter=~Q(permissions__in=held))
    ).filter(beyond=0)


class NoEscalationMixin:
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in ("user_permissions", "permissions"):
            kwargs["queryset"] = held_permissions(request.user).select_related("content_type")
        elif db_field.name == "groups":
            kwargs["queryset"] = grantable_groups(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class StockpileUserAdmin(NoEscalationMixin, UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields.append("is_superuser")
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


class StockpileGroupAdmin(NoEscalationMixin, GroupAdmin):
    def has_change_permission(self, request, obj=None):
        # A group holding permissions the user lacks is theirs to see, not to change.
        if (
            obj is not None
            and not request.user.is_superuser
            and not grantable_groups(request.user).filter(pk=obj.pk).exists()
        ):
            return False
        return super().has_change_permission(request, obj)


User = get_user_model()
admin.site.unregister(User)
admin.site.register(User, StockpileUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, StockpileGroupAdmin)
