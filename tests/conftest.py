"""Shared fixtures. Factories live in tests/factories.py."""

from __future__ import annotations

import os

import pytest

# Browser tests (marker `browser`, tests/browser/) drive Debian's Chromium with Playwright.
CHROMIUM = os.environ.get("STOCKPILE_CHROMIUM", "/usr/bin/chromium")
_BROWSER_NOT_RUN = pytest.StashKey[list]()


def pytest_report_header(config):
    if os.access(CHROMIUM, os.X_OK):
        return f"browser tests: {CHROMIUM}"
    return f"browser tests: NOT RUN, {CHROMIUM} is missing (apt-get install chromium)"


def pytest_collection_modifyitems(config, items):
    """Without Chromium the browser tests are deselected, and said so at the end (never a
    silent skip)."""
    if os.access(CHROMIUM, os.X_OK):
        return
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if not item.get_closest_marker("browser")]
        config.stash[_BROWSER_NOT_RUN] = [item.nodeid for item in browser]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    not_run = config.stash.get(_BROWSER_NOT_RUN, [])
    if not_run:
        terminalreporter.section("browser tests NOT RUN", sep="!", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{len(not_run)} browser test(s) were not run: {CHROMIUM} is missing. Install "
            "Debian's chromium (apt-get install chromium; bin/test does it as root) to run them:"
        )
        for nodeid in not_run:
            terminalreporter.write_line(f"  {nodeid}")


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
    from rest_framework.test import APIClient

    from core.api.tokens import api_token_create

    cache.clear()  # throttle counters
    tokens: dict[int, str] = {}

    def build(user=None):
        client = APIClient()
        if user is not None:
            if user.pk not in tokens:
                tokens[user.pk] = api_token_create(user=user)[1]
            client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[user.pk]}")
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
