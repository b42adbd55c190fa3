"""The admin's lists fit a 1280 px screen with real data (the demo data set)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.browser

LISTS = [
    "transfers/transfer",
    "transfers/pledge",
    "transfers/holding",
    "transfers/expenditure",
    "transfers/authorization",
    "transfers/source",
    "inventory/stockestimate",
]


def test_the_record_lists_fit_1280_px(page, live_site, editor_user):
    from stock.models import StaleEstimate
    from stock.refresh import estimates_refresh_pairs
    from transfers.demo import demo_load

    demo_load()
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))
    log_in(page, live_site, "editor")
    too_wide = {}
    for path in LISTS:
        page.goto(f"{live_site.url}/admin/{path}/")
        # Neither the page nor the table inside it scrolls sideways.
        width = page.evaluate("document.documentElement.scrollWidth")
        table = page.evaluate(
            "(() => { const r = document.querySelector('#changelist .results');"
            " return r ? r.scrollWidth - r.clientWidth : 0; })()"
        )
        shot(page, "list-" + path.split("/")[1])
        if width > 1280 or table > 0:
            too_wide[path] = (width, table)
    assert too_wide == {}
