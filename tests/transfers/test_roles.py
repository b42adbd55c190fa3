"""Roles are created by migration and give each group what its role allows."""

import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_roles_exist_with_their_permissions():
    viewer, editor, administrator = (
        set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        for name in ("viewer", "editor", "administrator")
    )
    assert {"view_transfer", "view_source", "view_country"} <= viewer
    assert not any(code.startswith(("add_", "change_", "delete_")) for code in viewer)
    assert {
        "add_transfer",
        "change_transfer",
        "add_citation",
        "change_source",
        "view_transfer",
    } <= editor
    assert not any(code.startswith("delete_") for code in editor)
    assert {"delete_transfer", "add_user", "change_periodictask"} <= administrator
