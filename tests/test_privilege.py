"""Privilege (issue 14, part 9): an administrator cannot make anyone a superuser, cannot
grant permissions or groups beyond their own, and cannot take over a superuser's account."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def user_form(user, **changes):
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.date().isoformat(),
        "date_joined_1": "00:00:00",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def perm(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def admin_user(client, administrator):
    client.force_login(administrator)
    return administrator


def test_an_administrator_cannot_make_themselves_superuser(client, admin_user):
    url = reverse("admin:auth_user_change", args=[admin_user.pk])
    response = client.post(url, user_form(admin_user, is_superuser="on"))
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert not admin_user.is_superuser


def test_no_permission_beyond_the_administrators_own(client, admin_user):
    target = UserFactory(username="analyst", role="viewer")
    beyond = perm("sessions.delete_session")
    assert not admin_user.has_perm("sessions.delete_session")
    url = reverse("admin:auth_user_change", args=[target.pk])
    response = client.post(url, user_form(target, user_permissions=[beyond.pk]))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not target.user_permissions.exists()
    held = perm("transfers.view_pledge")
    response = client.post(url, user_form(target, user_permissions=[held.pk]))
    assert response.status_code == 302
    assert list(target.user_permissions.all()) == [held]


def test_no_group_holding_more_than_the_administrator(client, admin_user):
    mighty = Group.objects.create(name="mighty")
    mighty.permissions.add(perm("sessions.delete_session"))
    target = UserFactory(username="analyst", role="viewer")
    url = reverse("admin:auth_user_change", args=[target.pk])
    groups = [g.pk for g in target.groups.all()] + [mighty.pk]
    response = client.post(url, user_form(target, groups=groups))
    assert response.status_code == 200
    assert not target.groups.filter(name="mighty").exists()
    # and the group itself is not theirs to widen or to change
    edit = reverse("admin:auth_group_change", args=[Group.objects.get(name="administrator").pk])
    response = client.post(
        edit,
        {
            "name": "administrator",
            "permissions": [
                *admin_user.groups.get().permissions.values_list("pk", flat=True),
                perm("sessions.delete_session").pk,
            ],
        },
    )
    assert response.status_code == 200
    assert (
        not Group.objects.get(name="administrator")
        .permissions.filter(codename="delete_session")
        .exists()
    )
    assert (
        client.post(
            reverse("admin:auth_group_change", args=[mighty.pk]), {"name": "renamed"}
        ).status_code
        == 403
    )


def test_a_superusers_account_is_not_the_administrators_to_change(client, admin_user):
    root = UserFactory(username="root", is_superuser=True)
    change = reverse("admin:auth_user_change", args=[root.pk])
    assert client.get(change).status_code == 200  # visible, read-only
    assert client.post(change, user_form(root, email="mine@example.org")).status_code == 403
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    assert client.post(password, {"password1": "x" * 20, "password2": "x" * 20}).status_code == 403
    root.refresh_from_db()
    assert root.email == "root@example.org"
