"""The explorer in Chromium at a phone's width (390 px): every page loads with no console
error (a CSP violation is one), its charts draw the numbers of their tables, its links
resolve, and nothing is wider than the screen."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


@pytest.fixture
def explorer_world(live_site, settings):
    from django.core.cache import cache

    from tests.explorer.conftest import build_world

    settings.STOCKPILE_PUBLIC = True
    settings.STOCKPILE_EXPLORER_THROTTLE = "10000/minute"
    cache.clear()
    return build_world()


def test_every_explorer_page_loads_clean_fits_390_px_and_its_charts_match_its_tables(
    page, live_site, explorer_world
):
    world = explorer_world
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 390, "height": 844})
    paths = [
        "/explore/",
        "/explore/search/?q=sky",
        "/explore/parties/UA/",
        f"/explore/systems/{world['family'].pk}/",
        "/explore/flows/GB/UA/",
        f"/explore/sources/{world['source'].pk}/",
        f"/explore/explain/UA/{world['family'].pk}/?scope=family",
        "/explore/parties/UA/changes/?since=2000-01-01",
    ]
    links: set[str] = set()
    charts_seen = 0
    for path in paths:
        response = page.goto(live_site.url + path)
        assert response.status == 200, path
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        for chart in page.locator("svg.chart").all():
            chart_id = chart.get_attribute("id")
            drawn = chart.evaluate(
                "svg => [...svg.querySelectorAll('.mark')].map(m => "
                "[m.dataset.label, m.dataset.low, m.dataset.high])"
            )
            listed = page.evaluate(
                "id => [...document.querySelectorAll(`[data-chart-table='${id}'] tbody tr`)]"
                ".map(r => [r.dataset.label, r.dataset.low, r.dataset.high])",
                chart_id,
            )
            assert drawn and drawn == listed, (path, chart_id)
            # and the table's printed numbers are the same as its data
            printed = page.evaluate(
                "id => [...document.querySelectorAll(`[data-chart-table='${id}'] tbody tr`)]"
                ".map(r => r.cells[1].textContent.trim())",
                chart_id,
            )
            assert printed == [low for _, low, _ in listed], (path, chart_id)
            box = chart.bounding_box()
            assert box["width"] <= 390 and box["height"] > 30, (path, chart_id)
            charts_seen += 1
        for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
            if href.startswith(live_site.url):
                links.add(href)
        shot(page, "explorer" + path.replace("/", "-").replace("?", "-").rstrip("-"))
    assert charts_seen >= 3  # the party's band and bars, the system's bars, the flow's bars
    assert not errors, errors
    for href in sorted(links):
        if "/admin/" in href:
            continue
        status = page.request.get(href).status
        assert status == 200, href


def test_a_screen_reader_finds_the_chart_titles_and_table_captions(page, live_site, explorer_world):
    page.goto(urljoin(live_site.url, "/explore/parties/UA/"))
    for chart in page.locator("svg.chart").all():
        assert chart.get_attribute("role") == "img"
        label = chart.get_attribute("aria-labelledby")
        assert page.locator(f"[id='{label}']").text_content().strip()
    assert page.locator("table caption").count() >= 5
    assert page.locator("html").get_attribute("lang") == "en"


def _gepard_corrected_from_10_to_20(settings):
    """Germany sends Ukraine 10 Gepards, then the record is corrected to 20 (estimates
    refreshed after each); returns the system and a moment between the two."""
    from django.core.cache import cache
    from django.utils import timezone

    from stock.refresh import estimates_refresh_all
    from tests.factories import TransferFactory, WeaponSystemFactory, state
    from transfers.services import record_save

    settings.STOCKPILE_PUBLIC = True
    cache.clear()
    system = WeaponSystemFactory(name="Gepard")
    sent = TransferFactory(
        donor=state("DE"), recipient=state("UA"), system=system, quantity_low=10, quantity_high=10
    )
    estimates_refresh_all()
    before = timezone.now()
    sent.quantity_low = sent.quantity_high = 20
    sent.quantity_text = "20"
    record_save(record=sent)
    estimates_refresh_all()
    return system, before


def test_known_at_shows_the_number_before_a_correction(page, live_site, settings):
    system, before = _gepard_corrected_from_10_to_20(settings)

    page.set_viewport_size({"width": 390, "height": 844})
    url = f"{live_site.url}/explore/explain/UA/{system.pk}/"
    page.goto(url)
    assert (
        page.locator("dd[data-key=on_hand]").inner_text().strip() == "≥ 20 on hand, 20 in, no count"
    )
    page.goto(f"{url}?known_at={before.isoformat().replace('+', '%2B')}")
    assert (
        page.locator("dd[data-key=on_hand]").inner_text().strip() == "≥ 10 on hand, 10 in, no count"
    )
    assert page.get_by_role("status").inner_text().startswith("As the database knew it at")
    shot(page, "explorer-known-at")
    page.get_by_role("link", name="As known now").click()
    assert (
        page.locator("dd[data-key=on_hand]").inner_text().strip() == "≥ 20 on hand, 20 in, no count"
    )


def test_the_changes_page_shows_the_number_before_and_after_a_correction(page, live_site, settings):
    system, before = _gepard_corrected_from_10_to_20(settings)

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 390, "height": 844})
    since = before.isoformat().replace("+", "%2B")
    response = page.goto(f"{live_site.url}/explore/parties/UA/changes/?since={since}")
    assert response.status == 200
    row = page.locator("table[data-table=estimates] tbody tr").first
    assert row.locator("td[data-key=system]").inner_text().strip() == "Gepard"
    assert row.locator("td[data-key=before]").inner_text().strip() == (
        "≥ 10 on hand, 10 in, no count"
    )
    assert row.locator("td[data-key=after]").inner_text().strip() == (
        "≥ 20 on hand, 20 in, no count"
    )
    records = page.locator("table[data-table=records] tbody tr").first
    assert records.locator("td[data-key=change]").inner_text().strip() == "changed"
    assert records.locator("td[data-key=quantity_before]").inner_text().strip() == "10"
    assert records.locator("td[data-key=quantity_after]").inner_text().strip() == "20"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "explorer-changes")
    # the number before links to the explanation as known then: it shows the old number
    row.locator("td[data-key=before] a").click()
    page.wait_for_url("**/explore/explain/UA/**")
    assert (
        page.locator("dd[data-key=on_hand]").inner_text().strip() == "≥ 10 on hand, 10 in, no count"
    )
    page.go_back()
    row.locator("td[data-key=after] a").click()
    page.wait_for_url("**/explore/explain/UA/**")
    assert (
        page.locator("dd[data-key=on_hand]").inner_text().strip() == "≥ 20 on hand, 20 in, no count"
    )
    # the form moves the window: until before the correction, nothing had changed yet
    page.goto(f"{live_site.url}/explore/parties/UA/changes/?since={since}")
    page.fill("#until", before.isoformat())
    page.click("form.moments button[type=submit]")
    page.wait_for_load_state()
    assert (
        "No estimate of this party changed"
        in page.locator("table[data-table=estimates]").inner_text()
    )
    assert not errors, errors
