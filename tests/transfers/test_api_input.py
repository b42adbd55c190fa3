"""Bad input is a clear 4xx naming what is wrong, and nothing is written; conditional
writes (ETag / If-Match); deletes of what is still referenced are 409s; nested citations."""

from __future__ import annotations

import json

import pytest

from tests.factories import (
    CitationFactory,
    PledgeFactory,
    SourceFactory,
    TransferFactory,
    WeaponSystemFactory,
    state,
)
from transfers.models import Citation, Source, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_api(api_client_for, editor):
    return api_client_for(editor)


@pytest.fixture
def admin_api(api_client_for, administrator):
    return api_client_for(administrator)


def counts():
    return Transfer.objects.count(), Citation.objects.count(), Source.objects.count()


def body(**extra):
    return {
        "system": WeaponSystemFactory().pk,
        "donor": "GB",
        "recipient": "UA",
        "quantity_text": "dozens",
        **extra,
    }


def test_a_transfer_is_created_with_its_citations_and_sources_matched_by_canonical_url(editor_api):
    known = SourceFactory(url="https://news.example.org/storm-shadow")
    response = editor_api.post(
        "/api/v1/transfers/",
        body(
            citations=[
                {
                    "source": {"url": "http://www.news.example.org/storm-shadow/?utm_source=x"},
                    "excerpt": "dozens more",
                },
                {
                    "source": {"url": "https://new.example.org/a", "title": "New report"},
                    "attribution": "anonymous",
                    "credibility": 2,
                },
                {"source_id": known.pk, "stance": "context"},
            ]
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert [c["source"]["id"] for c in data["citations"]][::2] == [known.pk, known.pk]
    assert data["citations"][1]["source"]["title"] == "New report"
    assert data["quantity_low"] == 24 and data["unsourced"] is False
    assert Source.objects.count() == 2


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"quantity_low": "many"}, "quantity_low"),
        ({"quantity_low": 50, "quantity_high": 10, "quantity_text": ""}, "quantity_high"),
        ({"quantity_low": -1}, "quantity_low"),
        ({"quantity_text": "a great many"}, "quantity_text"),
        ({"donor": "ZZ"}, "donor"),
        ({"recipient": 10**9}, "recipient"),
        ({"donor": "UA"}, "recipient"),  # donor == recipient
        ({"date": "2024-13-01"}, "date"),
        ({"date_precision": "week"}, "date_precision"),
        ({"system": "no such system"}, "system"),
        ({"pledge": 10**6}, "pledge"),
        ({"citations": [{"source_id": 10**6}]}, "citations"),
        ({"citations": [{"source": {"url": "https://unknown.example.org/x"}}]}, "citations"),
        (
            {"citations": [{"source_id": 1, "attribution": "anonymous", "credibility": 1}]},
            "citations",
        ),
        ({"citations": [{"excerpt": "no source"}]}, "citations"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(editor_api, payload, field):
    SourceFactory(pk=1)
    before = counts()
    response = editor_api.post("/api/v1/transfers/", body(**payload), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert counts() == before


def test_anonymous_citation_graded_confirmed_is_named_by_its_place(editor_api):
    SourceFactory(pk=1)
    response = editor_api.post(
        "/api/v1/transfers/",
        body(
            citations=[
                {"source_id": 1},
                {"source_id": 1, "attribution": "anonymous", "credibility": 1},
            ]
        ),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["citations"][0] == {}
    assert "credibility" in response.json()["citations"][1]


def test_a_duplicate_source_is_refused(editor_api):
    SourceFactory(url="https://news.example.org/a")
    before = counts()
    response = editor_api.post(
        "/api/v1/sources/",
        {"url": "http://www.news.example.org/a/", "title": "Again"},
        format="json",
    )
    assert response.status_code == 400 and "url" in response.json()
    assert counts() == before


def test_broken_json_is_a_400(editor_api):
    before = counts()
    response = editor_api.post(
        "/api/v1/transfers/", data=b'{"system": 1,', content_type="application/json"
    )
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]
    assert counts() == before


def test_an_oversized_body_is_a_413(editor_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = counts()
    payload = json.dumps(body(notes="x" * 2000))
    response = editor_api.post("/api/v1/transfers/", data=payload, content_type="application/json")
    assert response.status_code == 413, response.content
    assert "limit" in response.json()["detail"]
    assert counts() == before


def test_csv_on_a_detail_view_is_a_406_in_json(editor_api):
    transfer = TransferFactory()
    response = editor_api.get(f"/api/v1/transfers/{transfer.pk}/?format=csv")
    assert response.status_code == 406
    assert response["Content-Type"].startswith("application/json")


def test_csv_of_a_list(editor_api):
    CitationFactory(transfer=TransferFactory(notes="=HYPERLINK()"))
    response = editor_api.get("/api/v1/transfers/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, row = response.content.decode().splitlines()[:2]
    assert header.startswith("id,system.id,system.name,donor.id,donor.code")
    assert ",GB," in row and "'=HYPERLINK()" in row


def test_errors_of_a_csv_request_are_json(editor_api):
    response = editor_api.get("/api/v1/transfers/?format=csv&donor=nowhere")
    assert response.status_code == 400 and "donor" in response.json()


def test_etag_and_if_match(editor_api):
    transfer = TransferFactory()
    url = f"/api/v1/transfers/{transfer.pk}/"
    etag = editor_api.get(url)["ETag"]
    assert editor_api.get(url)["ETag"] == etag  # stable while nothing changes
    stale = editor_api.patch(url, {"notes": "first"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 200 and stale["ETag"] != etag
    refused = editor_api.patch(url, {"notes": "second"}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 412
    transfer.refresh_from_db()
    assert transfer.notes == "first"
    assert (
        editor_api.patch(url, {"notes": "third"}, format="json", HTTP_IF_MATCH="*").status_code
        == 200
    )
    assert (
        editor_api.patch(
            url, {"notes": "4"}, format="json", HTTP_IF_MATCH=f"W/{stale['ETag']}"
        ).status_code
        == 412
    )


def test_if_match_is_required_by_default(editor_api, admin_api):
    transfer = TransferFactory(notes="before")
    url = f"/api/v1/transfers/{transfer.pk}/"
    read = editor_api.get(url)
    for response in (
        editor_api.patch(url, {"notes": "x"}, format="json"),
        editor_api.put(url, read.json(), format="json"),
        admin_api.delete(url),
    ):
        assert response.status_code == 428
        assert "If-Match" in response.json()["detail"]
    transfer.refresh_from_db()
    assert transfer.notes == "before"
    assert (
        editor_api.patch(url, {"notes": "x"}, format="json", HTTP_IF_MATCH=read["ETag"]).status_code
        == 200
    )


def test_an_operator_can_let_writes_without_if_match_through(editor_api, settings):
    settings.STOCKPILE_API_REQUIRE_IF_MATCH = False
    transfer = TransferFactory()
    url = f"/api/v1/transfers/{transfer.pk}/"
    assert editor_api.patch(url, {"notes": "x"}, format="json").status_code == 200


def test_delete_with_a_stale_etag_is_a_412(admin_api):
    transfer = TransferFactory()
    response = admin_api.delete(f"/api/v1/transfers/{transfer.pk}/", HTTP_IF_MATCH='"stale"')
    assert response.status_code == 412
    assert Transfer.objects.filter(pk=transfer.pk).exists()


def test_deleting_a_cited_source_is_a_409(admin_api):
    citation = CitationFactory()
    response = admin_api.delete(f"/api/v1/sources/{citation.source_id}/", HTTP_IF_MATCH="*")
    assert response.status_code == 409 and "cited by 1" in response.json()["detail"]
    assert Source.objects.filter(pk=citation.source_id).exists()


def test_deleting_a_pledge_with_deliveries_is_a_409(admin_api):
    pledge = PledgeFactory(donor=state("GB"))
    TransferFactory(pledge=pledge)
    response = admin_api.delete(f"/api/v1/pledges/{pledge.pk}/", HTTP_IF_MATCH="*")
    assert response.status_code == 409 and "fulfilled by 1" in response.json()["detail"]


def test_deleting_a_system_still_referenced_is_a_409(admin_api):
    transfer = TransferFactory()
    response = admin_api.delete(f"/api/v1/systems/{transfer.system_id}/", HTTP_IF_MATCH="*")
    assert response.status_code == 409 and "Still referenced" in response.json()["detail"]


def test_deleting_a_record_keeps_its_history_reachable(admin_api):
    citation = CitationFactory()
    transfer_id = citation.transfer_id
    assert (
        admin_api.delete(f"/api/v1/transfers/{transfer_id}/", HTTP_IF_MATCH="*").status_code == 204
    )
    assert admin_api.get(f"/api/v1/transfers/{transfer_id}/history/").status_code == 404
    rows = admin_api.get(f"/api/v1/history/?model=transfer&object_id={transfer_id}").json()[
        "results"
    ]
    assert [row["change"] for row in rows] == ["deleted", "created"]
    assert rows[0]["door"] == "api" and rows[0]["actor"] == "administrator"
    cited = admin_api.get("/api/v1/history/?model=citation&change=deleted").json()["results"]
    assert cited[0]["object_id"] == citation.pk


def test_history_needs_a_known_model(admin_api):
    response = admin_api.get("/api/v1/history/?model=nothing")
    assert response.status_code == 400 and "model" in response.json()
    assert admin_api.get("/api/v1/history/").status_code == 400
