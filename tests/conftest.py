"""Shared fixtures. Factories live in tests/factories.py."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def celery_worker(transactional_db):
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
