"""Playwright driving Debian's Chromium (/usr/bin/chromium, never a downloaded browser)
against pytest-django's live server. Each test module here sets `pytestmark = pytest.mark.browser`; without Chromium
they are deselected and listed at the end of the run (tests/conftest.py).

Screenshots of the pages a journey passes through go to var/screenshots/ for a person to
look at (`shot(page, name)`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a-browser-test-password"


@pytest.fixture
def live_site(live_server, settings):
    """The live server with what migrations load (parties, roles; a transactional test
    starts from empty tables), estimates refreshed on commit and links pointing at it."""
    from django.contrib.auth.models import Group, Permission

    from inventory.services import parties_load
    from transfers.roles import roles_sync

    parties_load()
    roles_sync(Group, Permission)
    settings.STOCKPILE_ESTIMATES_SYNC = True
    settings.SITE_URL = live_server.url
    return live_server


@pytest.fixture
def page(live_site, tmp_path, monkeypatch):
    """A Chromium page (1280×900) with a fresh profile."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls
    # (factories, assertions) are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def editor_user(live_site):
    from tests.factories import UserFactory

    user = UserFactory(username="editor", role="editor")
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
