"""Shared fixtures. Factories live in tests/factories.py."""

from __future__ import annotations

import pytest


def _reload_parties(sender, **kwargs) -> None:
    from inventory.services import parties_load

    parties_load()


@pytest.fixture(scope="session", autouse=True)
def _migration_data_survives_flush():
    """A transactional test ends with Django's flush, which empties every table, what the
    data migrations loaded (the parties) included; the flush then sends post_migrate, which
    puts back permissions and roles, and, here, the parties. In one process pytest-django
    runs transactional tests last; in parallel runs (pytest-xdist) other tests may follow
    them in the same process and must find what migrations give."""
    from django.db.models.signals import post_migrate

    post_migrate.connect(_reload_parties, dispatch_uid="tests_reload_parties_after_flush")
    yield
    post_migrate.disconnect(dispatch_uid="tests_reload_parties_after_flush")


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def committed_db(transactional_db):
    """A transactional database with what migrations load put back (a transactional test
    starts from the empty tables the previous one left)."""
    from inventory.services import parties_load

    parties_load()
    _sync_roles()


@pytest.fixture
def celery_worker(committed_db):
    """A real Celery worker (in a thread of this process) consuming from the configured
    broker: Redis or RabbitMQ in CI, kombu's filesystem transport on a laptop. It sees only
    committed data, hence the transactional database."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as worker:
        yield worker


def _sync_roles():
    from django.contrib.auth.models import Group, Permission

    from transfers.roles import roles_sync

    roles_sync(Group, Permission)


@pytest.fixture
def editor(db):
    from tests.factories import UserFactory

    return UserFactory(username="editor", role="editor")


@pytest.fixture
def viewer(db):
    from tests.factories import UserFactory

    return UserFactory(username="viewer", role="viewer")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


# -- REST API (tests/*/test_api_*.py) ----------------------------------------------------


@pytest.fixture
def administrator(db):
    from tests.factories import UserFactory

    return UserFactory(username="administrator", role="administrator")


@pytest.fixture
def api_client_for(db):
    """`api_client_for(user)`: an APIClient authenticated with the user's token (a fresh
    anonymous client for None)."""
    from django.core.cache import cache
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    cache.clear()  # throttle counters

    def build(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return build


@pytest.fixture(autouse=True)
def _enqueue_breaker_closed():
    """Each test starts with the broker breaker closed (core.enqueue)."""
    from core.enqueue import breaker_reset

    breaker_reset()
    yield
    breaker_reset()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
