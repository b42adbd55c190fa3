"""Who sees the explorer, and its cache: behind login unless STOCKPILE_PUBLIC; anonymous
readers throttled; one cached page for everyone, validated by ETag and Last-Modified and
invalidated when the estimates refresh."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/explore/", "/explore/parties/UA/", "/explore/search/?q=uk"]


def test_anonymous_readers_are_sent_to_the_login_by_default(client, settings):
    settings.STOCKPILE_PUBLIC = False
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next=/explore/")


def test_a_logged_in_viewer_reads_it(viewer_client, settings):
    settings.STOCKPILE_PUBLIC = False
    for url in PAGES:
        assert viewer_client.get(url).status_code == 200, url


def test_public_opens_it_to_anonymous_readers(client, settings):
    settings.STOCKPILE_PUBLIC = True
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "public" in response["Cache-Control"]


def test_anonymous_readers_are_throttled_per_address(client, settings):
    settings.STOCKPILE_PUBLIC = True
    settings.STOCKPILE_EXPLORER_THROTTLE = "3/minute"
    statuses = [client.get("/explore/parties/UA/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/explore/parties/UA/")
    assert int(refused["Retry-After"]) > 0
    # another address has its own count
    assert client.get("/explore/parties/UA/", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_logged_in_readers_are_not_throttled(viewer_client, settings):
    settings.STOCKPILE_EXPLORER_THROTTLE = "2/minute"
    assert {viewer_client.get("/explore/").status_code for _ in range(4)} == {200}


def test_a_page_is_built_once_and_served_from_the_cache(
    client, settings, world, django_assert_num_queries
):
    settings.STOCKPILE_PUBLIC = True
    first = client.get("/explore/parties/UA/")
    assert first["X-Explorer-Cache"] == "miss"
    with django_assert_num_queries(0):
        second = client.get("/explore/parties/UA/")
    assert second["X-Explorer-Cache"] == "hit"
    assert second.content == first.content
    assert second["ETag"] == first["ETag"] and second["Last-Modified"]


def test_conditional_requests_get_304(client, settings, world, django_assert_num_queries):
    settings.STOCKPILE_PUBLIC = True
    first = client.get("/explore/parties/UA/")
    with django_assert_num_queries(0):
        again = client.get("/explore/parties/UA/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    since = client.get("/explore/parties/UA/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304
    other = client.get("/explore/parties/UA/", HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


def test_a_refresh_of_the_estimates_invalidates_the_cached_pages(
    client, settings, world, django_capture_on_commit_callbacks
):
    from stock.refresh import estimates_refresh_pairs
    from tests.factories import ExpenditureFactory

    settings.STOCKPILE_PUBLIC = True
    first = client.get("/explore/parties/UA/")
    assert client.get("/explore/parties/UA/")["X-Explorer-Cache"] == "hit"
    ExpenditureFactory(holder=world["ua"], system=world["family"], quantity_low=5, quantity_high=5)
    # the refresh bumps the version when its transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        estimates_refresh_pairs([(world["ua"].pk, world["family"].pk)])
    after = client.get("/explore/parties/UA/")
    assert after["X-Explorer-Cache"] == "miss"
    assert after["ETag"] != first["ETag"]
    assert client.get("/explore/parties/UA/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_the_refresh_bumps_the_version_on_commit(world, django_capture_on_commit_callbacks):
    from stock.freshness import estimates_version
    from stock.refresh import estimates_refresh_all

    before = estimates_version()
    with django_capture_on_commit_callbacks(execute=True):
        estimates_refresh_all()
    assert estimates_version() > before


def test_the_api_schema_and_docs_follow_the_same_rule(client, settings):
    settings.STOCKPILE_PUBLIC = False
    assert client.get("/api/schema/").status_code in (401, 403)
    assert client.get("/api/docs/").status_code == 302
    settings.STOCKPILE_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_the_explorer_writes_nothing(viewer_client, world):
    for method in ("post", "put", "delete"):
        assert getattr(viewer_client, method)("/explore/parties/UA/").status_code == 405
