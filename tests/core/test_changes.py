"""The change feed (`/api/v1/changes/`): every change to every tracked record, oldest first,
paged by a cursor that neither skips nor repeats a change, for a consumer keeping a copy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import SourceFactory, TransferFactory, UserFactory, WeaponSystemFactory
from transfers.models import Transfer
from transfers.services import record_delete, record_update

pytestmark = pytest.mark.django_db

URL = "/api/v1/changes/"


@pytest.fixture
def start():
    """A moment before the test's own writes (the parties loaded by migrations come before)."""
    return (timezone.now() - dt.timedelta(microseconds=1)).isoformat()


def _feed(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def _keys(items) -> list[tuple[str, int, str]]:
    return [(item["model"], item["object_id"], item["change"]) for item in items]


def test_creates_changes_and_deletes_come_oldest_first_with_snapshots(
    api_client_for, viewer, start
):
    system = WeaponSystemFactory(name="Storm Shadow")
    transfer = TransferFactory(system=system, quantity_low=25, quantity_high=25)
    transfer = record_update(record=transfer, quantity_low=30, quantity_high=30)
    record_delete(record=Transfer.objects.get(pk=transfer.pk))

    page = _feed(api_client_for(viewer), since=start)
    changes = [key for key in _keys(page["results"]) if key[0] in ("weaponsystem", "transfer")]
    assert changes == [
        ("weaponsystem", system.pk, "created"),
        ("transfer", transfer.pk, "created"),
        ("transfer", transfer.pk, "changed"),
        ("transfer", transfer.pk, "deleted"),
    ]
    by_change = {item["change"]: item for item in page["results"] if item["model"] == "transfer"}
    assert by_change["created"]["snapshot"]["quantity_low"] == 25
    assert by_change["changed"]["snapshot"]["quantity_low"] == 30
    assert by_change["created"]["url"].endswith(f"/api/v1/transfers/{transfer.pk}/")
    assert by_change["deleted"]["url"] is None
    assert by_change["deleted"]["snapshot"]["recipient_id"] == transfer.recipient_id
    times = [item["at"] for item in page["results"]]
    assert times == sorted(times)
    assert page["next"] is None and page["cursor"]


def test_pages_follow_next_without_gap_or_repeat_and_the_cursor_resumes(
    api_client_for, viewer, start
):
    for name in ("A", "B", "C", "D", "E"):
        SourceFactory(url=f"https://example.org/{name}", title=name)
    client = api_client_for(viewer)
    whole = _feed(client, since=start, model="source")["results"]
    assert [item["snapshot"]["title"] for item in whole] == ["A", "B", "C", "D", "E"]

    seen, page = [], _feed(client, since=start, model="source", page_size=2)
    while True:
        seen += page["results"]
        if page["next"] is None:
            break
        assert len(page["results"]) == 2
        page = client.get(page["next"]).json()
    assert [item["history_id"] for item in seen] == [item["history_id"] for item in whole]

    # Later: only what changed after the cursor, then nothing.
    SourceFactory(url="https://example.org/F", title="F")
    later = _feed(client, cursor=page["cursor"], model="source")
    assert [item["snapshot"]["title"] for item in later["results"]] == ["F"]
    empty = _feed(client, cursor=later["cursor"], model="source")
    assert empty["results"] == [] and empty["cursor"] == later["cursor"]


def test_changes_in_the_same_instant_across_models_are_neither_skipped_nor_repeated(
    api_client_for, viewer, start
):
    source = SourceFactory(url="https://example.org/same", title="Same")
    system = WeaponSystemFactory(name="Same-instant system")
    instant = timezone.now()
    source.history.update(history_date=instant)
    system.history.update(history_date=instant)
    client = api_client_for(viewer)
    first = _feed(client, since=start, model="source,weaponsystem", page_size=1)
    second = client.get(first["next"]).json()
    assert _keys(first["results"] + second["results"]) == [
        ("source", source.pk, "created"),
        ("weaponsystem", system.pk, "created"),
    ]
    assert second["next"] is None


def test_since_lists_changes_at_or_after_it(api_client_for, viewer):
    SourceFactory(url="https://example.org/old", title="Old")
    middle = timezone.now()
    SourceFactory(url="https://example.org/new", title="New")
    page = _feed(api_client_for(viewer), since=middle.isoformat(), model="source")
    assert [item["snapshot"]["title"] for item in page["results"]] == ["New"]


def test_a_page_costs_one_query_for_its_keys_and_one_per_model_on_it(
    api_client_for, viewer, start, django_assert_num_queries
):
    SourceFactory(url="https://example.org/q", title="Q")
    TransferFactory()
    client = api_client_for(viewer)
    client.get(URL, {"since": start})  # warm the token and permission caches of this test
    page = _feed(client, since=start)
    models_on_page = {item["model"] for item in page["results"]}
    assert {"source", "transfer", "weaponsystem"} <= models_on_page
    # the token with its user, the user's and the groups' permissions (on PostgreSQL in the
    # token's query), the keys (one UNION), then one read per model on the page
    from django.db import connection

    auth = 1 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(auth + 1 + len(models_on_page)):
        _feed(client, since=start)


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"since": "yesterday"}, "since", "valid date/time"),
        ({"cursor": "not-a-cursor"}, "cursor", "'not-a-cursor' is not a cursor"),
        ({"model": "transfer,missile"}, "model", "'missile' is not a tracked model"),
        ({"page_size": "501"}, "page_size", "501 is above the limit of 500"),
        ({"page_size": "0"}, "page_size", "greater than or equal to 1"),
        ({"sincee": "2024-01-01"}, "sincee", "Unknown query parameter 'sincee'"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field_and_value(
    api_client_for, viewer, params, field, words
):
    response = api_client_for(viewer).get(URL, params)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])


def test_readers_get_only_the_models_they_may_view(api_client_for, settings):
    settings.STOCKPILE_API_ANONYMOUS_READ = False
    assert api_client_for(None).get(URL).status_code in (401, 403)
    nobody = UserFactory(username="no-role")  # staff, but no group: no view permission
    response = api_client_for(nobody).get(URL, {"model": "transfer"})
    assert response.status_code == 400
    assert "You may not read 'transfer'" in response.json()["model"][0]
    SourceFactory(url="https://example.org/hidden", title="Hidden")
    assert api_client_for(nobody).get(URL).json()["results"] == []
