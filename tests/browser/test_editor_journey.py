"""The editor's journey in Chromium: log in, enter PRODUCT.md's seed story from the story
page, see the estimate it makes and then move, open "why this number", revert a change."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, shot
from tests.transfers.test_admin_story import SEED_CLAIMS

pytestmark = pytest.mark.browser


@pytest.fixture
def systems(live_site):
    from tests.factories import WeaponSystemAliasFactory, WeaponSystemFactory

    atacms = WeaponSystemFactory(name="ATACMS")
    WeaponSystemAliasFactory(system=atacms, alias="MGM-140", alias_normalized="mgm 140")
    storm = WeaponSystemFactory(name="Storm Shadow")
    WeaponSystemAliasFactory(system=storm, alias="SCALP-EG", alias_normalized="scalp eg")
    return atacms, storm


def _storm_shadow_row(page):
    return page.locator("tr", has=page.locator("td.field-subject", has_text="Storm Shadow")).first


def test_editor_enters_the_seed_story_and_follows_the_estimate(
    page, live_site, editor_user, systems
):
    from inventory.models import Country
    from transfers.models import Transfer

    url = live_site.url
    log_in(page, live_site, "editor")

    # The story page: the source once, one line per claim.
    page.goto(f"{url}/admin/transfers/story/")
    page.fill("#id_source-title", "US in talks with third countries over more ATACMS for Ukraine")
    page.fill("#id_source-publisher", "News agency")
    page.fill("#id_source-published_on", "2024-11")
    page.select_option("#id_source-reliability", "B")
    for index, claim in enumerate(SEED_CLAIMS):
        row = f"#id_claims-{index}-"
        page.select_option(row + "kind", claim["kind"])
        for name in ("from_party", "to_parties", "system", "quantity", "details", "excerpt"):
            if claim.get(name):
                page.fill(row + name, claim[name])
        page.fill(row + "date", "2024-11")
        page.select_option(row + "attribution", claim["attribution"])
        page.select_option(row + "credibility", claim["credibility"])
    shot(page, "story-page-filled")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    assert "The story is entered: 11 record(s)" in page.inner_text(".messagelist")

    # Ukraine's page shows what is known of its Storm Shadows.
    ukraine = Country.objects.get(code="UA")
    page.goto(f"{url}/admin/inventory/country/{ukraine.pk}/change/")
    on_hand = _storm_shadow_row(page).locator("td.field-on_hand_range")
    assert on_hand.inner_text().strip() == "24–99 in, ≥ 1 used, no count"
    shot(page, "country-ukraine")

    # Why this number: the ledger rows with their records and the quoted words.
    _storm_shadow_row(page).locator("td.field-why a").click()
    page.wait_for_url("**/admin/stock/stockestimate/**")
    assert 'sent "dozens more" Storm Shadows' in page.inner_text("#content")
    shot(page, "why-this-number")

    # A correction moves the estimate; reverting it from the history moves it back.
    transfer = Transfer.objects.get()
    page.goto(f"{url}/admin/transfers/transfer/{transfer.pk}/change/")
    page.fill("#id_quantity_text", "60")
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    page.goto(f"{url}/admin/inventory/country/{ukraine.pk}/change/")
    assert on_hand.inner_text().strip() == "60 in, ≥ 1 used, no count"

    page.goto(f"{url}/admin/transfers/transfer/{transfer.pk}/history/")
    shot(page, "transfer-history")
    page.locator("#change-history a", has_text="dozens more").first.click()
    page.click("input[type=submit][name=_save]")
    page.locator(".messagelist .success").wait_for()
    transfer.refresh_from_db()
    assert transfer.quantity_text == "dozens more"
    page.goto(f"{url}/admin/inventory/country/{ukraine.pk}/change/")
    assert on_hand.inner_text().strip() == "24–99 in, ≥ 1 used, no count"
