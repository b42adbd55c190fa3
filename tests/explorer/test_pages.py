"""The explorer's pages: what each shows, its downloads, the refusals, and the number of
queries each takes (pinned, and not growing with the data)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.explorer.conftest import build_world
from tests.test_csp import assert_strict

pytestmark = pytest.mark.django_db


def page_urls(world) -> dict[str, str]:
    return {
        "party": reverse("explorer:party", args=["UA"]),
        "system": reverse("explorer:system", args=[world["family"].pk]),
        "flow": reverse("explorer:flow", args=["GB", "UA"]),
        "source": reverse("explorer:source", args=[world["source"].pk]),
        "search": reverse("explorer:search") + "?q=skybolt",
        "explain": reverse("explorer:explain", args=["UA", world["family"].pk]) + "?scope=family",
    }


def cells(html: str, table: str, key: str) -> list[str]:
    """The texts of one column of one table of a page."""
    body = html.split(f'data-table="{table}"', 1)[1].split("</table>", 1)[0]
    found = re.findall(rf'<td data-key="{key}"[^>]*>(.*?)</td>', body, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in found]


def test_the_party_page_shows_estimates_received_pledges_losses_and_authorizations(
    viewer_client, world
):
    html = viewer_client.get("/explore/parties/UA/").content.decode()
    # the family: 24–99 + 4 + 3 received, 2 used, no count
    assert "Skybolt" in cells(html, "estimates", "system")
    received = dict(
        zip(cells(html, "received", "donor"), cells(html, "received", "quantity"), strict=True)
    )
    assert received == {"United Kingdom": "24–99", "United States": "7"}
    assert cells(html, "pledges", "pledged") == ["10"]
    assert cells(html, "pledges", "delivered") == ["3"]
    assert cells(html, "pledges", "outstanding") == ["7"]
    assert cells(html, "pledges", "days_outstanding")[0].isdigit()
    # issue 17: the chain's other parties and the policies that bear on the pledge
    assert cells(html, "pledges", "parties") == ["financed by Poland"]
    assert cells(html, "pledges", "policies") == [
        "United States: will not transfer Skybolt (2024-02-01)"
    ]
    assert cells(html, "losses", "quantity") == ["2"]
    assert cells(html, "authorizations", "grantor") == ["United States"]
    # every estimate number links to its explanation
    explain = reverse("explorer:explain", args=["UA", world["family"].pk]) + "?scope=family"
    assert f'href="{explain}"' in html


def test_the_family_estimate_counts_the_variants_and_links_to_its_rows(viewer_client, world):
    from stock.models import StockEstimate

    family = StockEstimate.objects.get(holder=world["ua"], system=world["family"], scope="family")
    assert (family.received_low, family.received_high) == (31, 106)
    html = viewer_client.get(page_urls(world)["explain"]).content.decode()
    assert "Why this number" in html
    assert "sent dozens more" in html  # the excerpt
    assert "B2" in html  # the citation's grade
    assert "unsourced" in html  # the US deliveries cite nothing
    assert reverse("explorer:source", args=[world["source"].pk]) in html


def test_the_system_page_lists_holders_orders_flows_and_variants(viewer_client, world):
    html = viewer_client.get(page_urls(world)["system"]).content.decode()
    assert "Skybolt Block I" in html and "Example Works" in html and "300" in html
    assert "Ukraine" in cells(html, "holders", "holder")
    assert cells(html, "orders", "holder") == ["Poland"]
    flows = dict(zip(cells(html, "flows", "donor"), cells(html, "flows", "quantity"), strict=True))
    assert flows == {"United Kingdom": "24–99", "United States": "7"}


def test_the_system_is_found_by_its_alias_and_the_party_by_a_lower_case_code(viewer_client, world):
    response = viewer_client.get("/explore/systems/xgm-9/")
    assert response.status_code == 302
    assert response["Location"] == reverse("explorer:system", args=[world["family"].pk])
    assert viewer_client.get("/explore/parties/ua/")["Location"] == "/explore/parties/UA/"
    assert viewer_client.get("/explore/systems/no-such-thing/").status_code == 404
    assert viewer_client.get("/explore/parties/QQ/").status_code == 404


def test_the_flow_and_source_pages(viewer_client, world):
    html = viewer_client.get(page_urls(world)["flow"]).content.decode()
    assert cells(html, "deliveries", "quantity") == ["24–99"]
    html = viewer_client.get(page_urls(world)["source"]).content.decode()
    assert cells(html, "claims", "excerpt") == ["sent dozens more"]
    assert cells(html, "claims", "grade") == ["B2"]


def test_search_ranks_parties_and_systems_and_finds_aliases(viewer_client, world):
    html = viewer_client.get("/explore/search/?q=xgm").content.decode()
    assert cells(html, "systems", "name") == ["Skybolt"]
    html = viewer_client.get("/explore/search/?q=UK").content.decode()
    assert cells(html, "parties", "name")[0] == "United Kingdom"


def test_staff_only_fields_never_appear(viewer_client, world):
    for url in page_urls(world).values():
        for fmt in ("", "format=json"):
            glue = "&" if "?" in url else "?"
            body = viewer_client.get(url + (glue + fmt if fmt else "")).content.decode()
            assert "EDITOR-ONLY" not in body, url
            assert "viewer" not in body  # nothing of the reader


def test_downloads_carry_the_tables_and_the_attribution(viewer_client, world):
    response = viewer_client.get("/explore/parties/UA/?format=json")
    body = json.loads(response.content)
    assert "SIPRI" in body["attribution"]
    assert {r["donor"]: r["quantity"] for r in body["tables"]["received"]["rows"]} == {
        "United Kingdom": "24–99",
        "United States": "7",
    }
    response = viewer_client.get("/explore/parties/UA/?format=csv&table=pledges")
    assert response["Content-Disposition"] == 'attachment; filename="pledges.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("# Stockpile")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert [(r["Pledged"], r["Delivered"], r["Outstanding"]) for r in rows] == [("10", "3", "7")]


def test_a_formula_in_data_is_inert_in_the_csv(viewer_client, world):
    from tests.factories import CitationFactory

    CitationFactory(transfer=world["transfers"][0], source=world["source"], excerpt="=HYPERLINK(1)")
    text = viewer_client.get(f"/explore/sources/{world['source'].pk}/?format=csv").content.decode()
    assert "'=HYPERLINK(1)" in text


def test_unknown_parameters_and_values_are_refused_naming_them(viewer_client, world):
    cases = {
        "/explore/parties/UA/?foo=1": "foo",
        "/explore/parties/UA/?format=xml": "'xml'",
        "/explore/parties/UA/?format=csv&table=nope": "'nope'",
        f"/explore/explain/UA/{world['family'].pk}/?scope=galaxy": "'galaxy'",
    }
    for url, named in cases.items():
        response = viewer_client.get(url)
        assert response.status_code == 400, url
        assert named in response.content.decode(), url


def test_text_from_data_is_escaped_and_the_pages_carry_the_strict_policy(viewer_client, world):
    from tests.factories import TransferFactory, WeaponSystemFactory

    evil = WeaponSystemFactory(name='<script>alert("x")</script>')
    TransferFactory(donor=world["gb"], recipient=world["ua"], system=evil)
    from stock.refresh import estimates_refresh_all

    estimates_refresh_all()
    for url in [*page_urls(world).values(), "/explore/parties/UA/"]:
        response = viewer_client.get(url)
        assert response.status_code == 200, url
        assert "<script>" not in response.content.decode(), url
        assert_strict(response, url)


def test_the_charts_draw_the_numbers_of_their_tables(viewer_client, world):
    html = viewer_client.get("/explore/parties/UA/").content.decode()
    for chart in re.findall(r'<svg class="chart".*?</svg>', html, re.S):
        chart_id = re.search(r'id="([^"]+)"', chart).group(1)
        marks = re.findall(
            r'class="mark"[^>]*data-label="([^"]*)" data-low="([^"]*)" '
            r'data-high="([^"]*)"',
            chart,
        )
        table = html.split(f'data-chart-table="{chart_id}"', 1)[1].split("</table>", 1)[0]
        rows = re.findall(r'<tr data-label="([^"]*)" data-low="([^"]*)" data-high="([^"]*)"', table)
        assert marks and marks == rows, chart_id


# party: estimates, 3 series, received, donors, pledges (with their roles, and the policies
# bearing on them: the systems' lineage, the policies, their citations and sources), losses,
# authorizations, party;
# explain: the estimate, its rows, each origin model's records with citations and sources.
QUERIES = {"party": 14, "system": 8, "flow": 3, "source": 2, "search": 2, "explain": 13}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_page_takes_a_fixed_number_of_queries(client, settings, name):
    """Pinned for a small world, and the same for a world three times larger."""
    from django.core.cache import cache

    settings.STOCKPILE_PUBLIC = True
    counts = []
    for scale in (1, 3):
        from django.db.models import F, Value
        from django.db.models.functions import Concat

        from inventory.models import WeaponSystem, WeaponSystemAlias

        # a second, larger world beside the first (the pages read only their own)
        WeaponSystemAlias.objects.filter(alias="XGM-9").delete()
        WeaponSystem.objects.filter(name__startswith="Skybolt").update(
            name=Concat(F("name"), Value(" (before)"))
        )
        world = build_world(scale)
        cache.clear()
        url = page_urls(world)[name]
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
    assert counts == [QUERIES[name], QUERIES[name]]


def test_long_tables_are_paged_and_the_downloads_carry_every_row(viewer_client, monkeypatch):
    from explorer import selectors

    world = build_world()
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    url = reverse("explorer:party", args=["UA"])
    with CaptureQueriesContext(connection) as on_first:
        first = viewer_client.get(url).content.decode()
    assert cells(first, "estimates", "system") == ["Skybolt", "Skybolt"]  # family, system
    assert "Rows 1–2 of 3 (page 1 of 2)" in first
    assert '<a href="?page=2#table-estimates" rel="next">next page</a>' in first
    # the charts are the three estimates with the most records, whatever the page
    assert first.count('data-chart-for="chart-') == 3
    with CaptureQueriesContext(connection) as on_second:
        second = viewer_client.get(url, {"page": "2"}).content.decode()
    assert len(on_second) == len(on_first)  # a page costs what the first does
    assert cells(second, "estimates", "system") == ["Skybolt Block I"]
    assert "Rows 3–3 of 3 (page 2 of 2)" in second and 'rel="prev"' in second
    assert second.count('data-chart-for="chart-') == 3
    assert viewer_client.get(url, {"page": "3"}).status_code == 404
    for bad in ("0", "two", "-1"):
        refused = viewer_client.get(url, {"page": bad})
        assert refused.status_code == 400 and b"page=" in refused.content
    download = viewer_client.get(url, {"format": "json", "page": "2"}).json()
    assert len(download["tables"]["estimates"]["rows"]) == 3
    assert "page=" not in second.split('class="downloads"', 1)[1].split("</p>", 1)[0]
    # as known at a moment, the pages keep the moment
    later = viewer_client.get(url, {"known_at": "2100-01-01", "page": "2"}).content.decode()
    assert cells(later, "estimates", "system") == ["Skybolt Block I"]
    assert "?known_at=2100-01-01&amp;page=1#table-estimates" in later

    holders = reverse("explorer:system", args=[world["family"].pk])
    html = viewer_client.get(holders).content.decode()
    count = len(viewer_client.get(holders, {"format": "json"}).json()["tables"]["holders"]["rows"])
    assert count > 2 and len(cells(html, "holders", "holder")) == 2
    assert f"Rows 1–2 of {count}" in html
    pages = [cells(html, "holders", "holder")]
    for number in range(2, (count + 1) // 2 + 1):
        page = viewer_client.get(holders, {"page": str(number)}).content.decode()
        pages.append(cells(page, "holders", "holder"))
    every = viewer_client.get(holders, {"format": "json"}).json()["tables"]["holders"]["rows"]
    assert [name for names in pages for name in names] == [row["holder"] for row in every]


def test_other_long_tables_have_pages_of_their_own(viewer_client, monkeypatch):
    from explorer import selectors

    build_world(2)
    monkeypatch.setattr(selectors, "PAGE_SIZE", 1)
    url = reverse("explorer:party", args=["UA"])
    every = viewer_client.get(url, {"format": "json"}).json()["tables"]["received"]["rows"]
    assert len(every) > 1
    shown = []
    for number in range(1, len(every) + 1):
        html = viewer_client.get(url, {"received_page": str(number)}).content.decode()
        shown += cells(html, "received", "year")
        assert f"of {len(every)} (page {number} of {len(every)})" in html
    assert shown == [str(row["year"]) for row in every]
    # the bar chart still sums every row, whatever the page
    bars = html.split('data-chart-table="bars"', 1)[1].split("</table>", 1)[0]
    assert bars.count("<tr data-label") == len({row["donor"] for row in every})
    assert viewer_client.get(url, {"received_page": "x"}).status_code == 400
    assert viewer_client.get(url, {"received_page": "99"}).status_code == 404
