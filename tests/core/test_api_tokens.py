"""API tokens (issue 14, part 9): hashed (django-rest-knox), expiring, shown in full once
when created and by their prefix after that, to administrators too; wrong and expired
tokens are counted like any wrong token; the old plaintext tokens are revoked by migration."""

from __future__ import annotations

import datetime as dt
import importlib
import io

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from core.api.tokens import api_token_create, api_tokens_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


def _get(token, address="10.9.0.1", path="/api/v1/pledges/"):
    return APIClient(REMOTE_ADDR=address).get(path, HTTP_AUTHORIZATION=f"Token {token}")


def test_a_token_is_stored_as_a_digest_and_a_prefix_only(settings):
    user = UserFactory(username="script", role="viewer")
    stored, token = api_token_create(user=user)
    assert token.startswith("stk_") and len(token) == 4 + 64
    row = AuthToken.objects.filter(pk=stored.pk).values().get()
    assert token not in [str(value) for value in row.values()]  # nowhere in full
    assert row["token_key"] == token[:15] and len(row["digest"]) == 128
    expected = timezone.now() + dt.timedelta(days=settings.STOCKPILE_API_TOKEN_DAYS)
    assert abs((row["expiry"] - expected).total_seconds()) < 60
    assert _get(token).status_code == 200


def test_an_expired_token_is_refused_deleted_and_counted(settings):
    settings.STOCKPILE_API_TOKEN_FAILURE_LIMIT = 2
    user = UserFactory(username="script", role="viewer")
    stored, token = api_token_create(user=user, days=1)
    AuthToken.objects.filter(pk=stored.pk).update(expiry=timezone.now() - dt.timedelta(hours=1))
    refused = _get(token)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    assert not AuthToken.objects.filter(pk=stored.pk).exists()
    assert _get("stk_wrong").status_code == 401
    _, good = api_token_create(user=user)
    assert _get(good).status_code == 429  # two failures from this address: locked out
    assert _get(good, address="10.9.0.2").status_code == 200


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token \xff\xfe", "Token " + "x" * 300])
def test_malformed_token_headers_are_401s_and_counted(header):
    response = APIClient(REMOTE_ADDR="10.9.0.3").get("/api/v1/pledges/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response.json()["detail"]
    assert cache.get("stockpile:token-failures:10.9.0.3")["count"] == 1


def test_an_inactive_users_token_is_refused():
    user = UserFactory(username="gone", role="viewer")
    _, token = api_token_create(user=user)
    user.is_active = False
    user.save()
    assert _get(token).status_code == 401


@pytest.mark.parametrize("days", [0, -1, 366, 100000])
def test_a_token_life_outside_the_limits_is_refused_naming_it(days):
    user = UserFactory(username="script")
    with pytest.raises(ValidationError) as refused:
        api_token_create(user=user, days=days)
    assert str(days) in str(refused.value.message_dict["days"])
    assert not AuthToken.objects.exists()


def test_administrators_see_prefixes_and_never_a_token_after_creation(client, administrator):
    client.force_login(administrator)
    user = UserFactory(username="script", role="editor")
    response = client.post(
        "/admin/knox/authtoken/add/", {"user": user.pk, "days": "30"}, REMOTE_ADDR="10.9.0.4"
    )
    assert response.status_code == 200  # the token page itself, not a redirect
    assert "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert token in response.content.decode()
    stored = AuthToken.objects.get(user=user)
    assert abs((stored.expiry - timezone.now()).days - 30) <= 1
    assert _get(token).status_code == 200
    for page in ("/admin/knox/authtoken/", f"/admin/knox/authtoken/{stored.pk}/change/"):
        text = client.get(page).content.decode()
        assert stored.token_key in text, page  # the prefix
        assert token not in text, page
    assert token not in str(dict(client.session))  # not kept in the session
    assert token not in str(response.cookies)  # nor in a cookie


def test_the_admin_refuses_a_life_above_the_limit_and_writes_nothing(client, administrator):
    client.force_login(administrator)
    user = UserFactory(username="script")
    response = client.post("/admin/knox/authtoken/add/", {"user": user.pk, "days": "400"})
    assert response.status_code == 200 and response.context["adminform"].form.errors["days"]
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_administrators_manage_tokens(client, role):
    client.force_login(UserFactory(username=role, role=role))
    assert client.get("/admin/knox/authtoken/").status_code == 403
    assert client.get("/admin/knox/authtoken/add/").status_code == 403


def test_the_command_prints_a_token_once_and_lists_prefixes(capsys):
    UserFactory(username="script", role="viewer")
    out = io.StringIO()
    call_command("api_token", "create", "script", "--days", "7", stdout=out, stderr=io.StringIO())
    token = out.getvalue().strip()
    assert _get(token).status_code == 200
    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert token[:15] in listing.getvalue() and token not in listing.getvalue()
    call_command("api_token", "revoke", token[:12], stdout=io.StringIO())
    assert _get(token, address="10.9.0.5").status_code == 401


@pytest.mark.parametrize(
    "arguments, named",
    [
        (["create", "nobody"], "'nobody'"),
        (["create", "script", "--days", "0"], "0 is not"),
        (["revoke", "stk_"], "'stk_' is too short"),
        (["revoke"], "Name a token prefix"),
    ],
)
def test_the_command_refuses_naming_the_value(arguments, named):
    UserFactory(username="script")
    api_token_create(user=UserFactory(username="other"))
    with pytest.raises(CommandError, match=named):
        call_command("api_token", *arguments, stdout=io.StringIO(), stderr=io.StringIO())
    assert AuthToken.objects.count() == 1


def test_revoking_expired_tokens_keeps_the_valid_ones():
    user = UserFactory(username="script")
    old, _ = api_token_create(user=user)
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - dt.timedelta(days=1))
    valid, _ = api_token_create(user=user)
    assert api_tokens_revoke(expired=True) == 1
    assert list(AuthToken.objects.values_list("pk", flat=True)) == [valid.pk]


def test_the_migration_drops_the_plaintext_tokens():
    migration = importlib.import_module("transfers.migrations.0011_revoke_plaintext_tokens")
    from django.apps import apps

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id int)")
        cursor.execute("INSERT INTO authtoken_token VALUES ('plain0123456789', 1)")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.revoke_plaintext_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    migration.revoke_plaintext_tokens(apps, editor)  # and again: nothing to do
