"""The browser plumbing itself: Chromium starts, the editor logs in, pages render."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.browser


def test_an_editor_logs_in_and_the_admin_index_fits_1280_px(page, live_site, editor_user):
    log_in(page, live_site, "editor")
    assert page.locator("#site-name").inner_text().strip()
    shot(page, "admin-index")
    page.goto(f"{live_site.url}/admin/transfers/transfer/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280
