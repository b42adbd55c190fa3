"""Logins and throttles (issue 14, part 7): lockout per username and per address on the
admin login, wrong API tokens counted, the cache (and so the throttles) shared when
configured."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from rest_framework.test import APIClient

from core.api.tokens import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def login(client, username, password, address="10.0.0.1", **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


def test_wrong_passwords_lock_the_user_out_the_right_one_included(client, settings):
    UserFactory(username="desk", role="editor")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "desk", "wrong").status_code == 200  # the form again
    assert login(client, "desk", "wrong").status_code == 429  # the limit: locked out
    refused = login(client, "desk", PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    # From another address too: the lockout is per username.
    assert login(client, "desk", PASSWORD, address="10.0.0.2").status_code == 429


def test_one_address_trying_many_usernames_is_locked_out(client, settings):
    UserFactory(username="desk", role="editor")
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, f"guess{n}", "wrong", address="10.0.0.9")
    assert login(client, "desk", PASSWORD, address="10.0.0.9").status_code == 429
    # Another address still logs in.
    assert login(client, "desk", PASSWORD, address="10.0.0.10").status_code == 302


def test_a_forged_forwarded_for_does_not_escape_the_address_lockout(client, settings):
    UserFactory(username="desk", role="editor")
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, f"guess{n}", "wrong", address="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
    assert (
        login(
            client, "desk", PASSWORD, address="10.0.0.9", HTTP_X_FORWARDED_FOR="9.9.9.9"
        ).status_code
        == 429
    )


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, settings):
    from core.request_guards import client_ip

    settings.STOCKPILE_TRUSTED_PROXIES = 1

    class Request:
        META = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 10.1.2.3"}

    assert client_ip(Request()) == "10.1.2.3"  # what our proxy saw, not what the client wrote


def test_a_successful_login_below_the_limit_resets_the_count(client, settings):
    UserFactory(username="desk", role="editor")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "desk", "wrong")
    assert login(client, "desk", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="desk", failures_since_start__gt=0).exists()


def test_wrong_tokens_are_counted_and_then_refused_with_429(settings):
    cache.clear()
    settings.STOCKPILE_API_TOKEN_FAILURE_LIMIT = 3
    user = UserFactory(username="reader", role="viewer")
    good = api_token_create(user=user)[1]
    client = APIClient(REMOTE_ADDR="10.0.0.7")
    for n in range(3):
        response = client.get("/api/v1/pledges/", HTTP_AUTHORIZATION=f"Token wrong{n}")
        assert response.status_code == 401
    refused = client.get("/api/v1/pledges/", HTTP_AUTHORIZATION=f"Token {good}")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "wrong tokens" in refused.json()["detail"]
    other = APIClient(REMOTE_ADDR="10.0.0.8")
    assert other.get("/api/v1/pledges/", HTTP_AUTHORIZATION=f"Token {good}").status_code == 200


def test_the_cache_is_redis_when_configured(monkeypatch):
    import importlib

    import config.settings as project_settings

    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/13")
    try:
        reloaded = importlib.reload(project_settings)
        assert (
            reloaded.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        )
        assert reloaded.CACHES["default"]["LOCATION"] == "redis://127.0.0.1:6379/13"
    finally:
        monkeypatch.delenv("CACHE_URL")
        importlib.reload(project_settings)


def test_throttle_counters_are_shared_between_processes_through_redis(settings):
    """Two cache clients (two web workers) see one counter."""
    from django.core.cache.backends.redis import RedisCache

    first = RedisCache("redis://127.0.0.1:6379/13", {"KEY_PREFIX": "stockpile-test"})
    second = RedisCache("redis://127.0.0.1:6379/13", {"KEY_PREFIX": "stockpile-test"})
    first.set("throttle_user_1", [1.0, 2.0], 30)
    assert second.get("throttle_user_1") == [1.0, 2.0]
    first.delete("throttle_user_1")
