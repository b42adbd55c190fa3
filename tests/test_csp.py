"""A strict Content-Security-Policy on every page (issue 14, part 2): scripts only from
this site or carrying the page's nonce, so text from data never runs; the pages that had
inline scripts (the API docs) still work."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_strict(response, url):
    directives = policy(response)
    scripts = directives["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, url
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    nonces = [s[len("'nonce-") : -1] for s in scripts if s.startswith("'nonce-")]
    body = response.content.decode()
    for attributes in SCRIPT.findall(body):
        if "src=" in attributes or "application/json" in attributes:
            continue
        # An inline script runs only with the page's nonce.
        match = re.search(r'nonce="([^"]+)"', attributes)
        assert match and match.group(1) in nonces, (url, attributes)


def test_admin_api_docs_and_report_pages_carry_a_strict_policy(admin_client, client):
    assert_strict(client.get("/admin/login/"), "/admin/login/")
    pledge = PledgeFactory()
    urls = [
        "/admin/",
        "/admin/transfers/pledge/",
        f"/admin/transfers/pledge/{pledge.pk}/change/",
        "/admin/transfers/import/",
        "/api/v1/pledges/?format=api",
        "/api/docs/",
        "/api/redoc/",
        "/reports/unsubscribe/not-a-token/",
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code in (200, 400, 404), (url, response.status_code)
        assert_strict(response, url)


def test_the_swagger_page_has_no_inline_script_and_its_start_script_is_served(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert len(sources) == 3 and any("script=" in s for s in sources)
    start = admin_client.get(next(s for s in sources if "script=" in s).replace("&amp;", "&"))
    assert start.status_code == 200 and "SwaggerUIBundle" in start.content.decode()
    for asset in sources:
        if "sidecar" in asset:
            path = asset.split("/static/", 1)[1]
            assert finders.find(path), asset  # served from this site


def test_the_redoc_start_script_carries_the_nonce(admin_client):
    response = admin_client.get("/api/redoc/")
    nonce = re.search(r"<script nonce=\"([^\"]+)\">", response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in policy(response)["script-src"]
    assert "fonts.googleapis.com" not in response.content.decode()


def test_the_report_preview_keeps_its_stricter_policy(admin_client):
    from tests.reports.test_reports import daily_subscriber

    subscription = daily_subscriber()
    response = admin_client.get(f"/admin/reports/subscription/{subscription.pk}/preview/")
    assert policy(response)["default-src"] == ["'none'"]
