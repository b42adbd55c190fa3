"""No 500 from input (issue 14, part 5): `%` in filter values, deeply nested JSON, NUL
characters in references, too many citations, and JSON bodies on every API 404."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tests.factories import CitationFactory, PledgeFactory, UserFactory, WeaponSystemFactory
from transfers.api.serializers import MAX_CITATIONS_PER_REQUEST
from transfers.models import Citation, Source, Transfer

pytestmark = pytest.mark.django_db

PERCENT_VALUES = ["%", "50%", "%s", "%(x)s", "%%d"]


@pytest.fixture
def editor_api(api_client_for, editor):
    return api_client_for(editor)


def list_parameters(client):
    """(path, query parameter) of every list endpoint, from the schema."""
    with override_settings(STOCKPILE_PUBLIC=True):
        schema = client.get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] == "query":
                yield path, parameter["name"]


def test_a_percent_sign_in_any_filter_value_is_never_a_server_error(editor_api):
    CitationFactory()
    PledgeFactory()
    pairs = list(list_parameters(editor_api))
    assert len(pairs) > 50
    refused = 0
    for path, name in pairs:
        for value in PERCENT_VALUES:
            response = editor_api.get(path, {name: value})
            assert response.status_code < 500, (path, name, value)
            if response.status_code == 400:
                refused += 1
                assert response["Content-Type"].startswith("application/json")
    assert refused > 0


def test_the_400_for_a_percent_value_quotes_it_as_sent(editor_api):
    response = editor_api.get("/api/v1/transfers/", {"donor": "50%"})
    assert response.status_code == 400
    assert "'50%'" in response.json()["donor"][0]


def nested(depth: int) -> str:
    return '{"notes": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_400(editor_api, depth):
    response = editor_api.post(
        "/api/v1/transfers/", data=nested(depth), content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]
    assert not Transfer.objects.exists()


def _transfer(**extra):
    return {
        "system": WeaponSystemFactory().pk,
        "donor": "GB",
        "recipient": "UA",
        "quantity_text": "dozens",
        **extra,
    }


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"recipient": "U\x00A"}, "recipient"),
        ({"donor": "\x00"}, "donor"),
        ({"system": "Storm\x00Shadow"}, "system"),
        ({"notes": "a\x00b"}, "notes"),
        (
            {"citations": [{"source": {"title": "T\x00"}, "excerpt": "x"}]},
            "citations.0.source.title",
        ),
    ],
)
def test_a_nul_character_in_a_body_is_a_400_naming_the_field(editor_api, payload, field):
    response = editor_api.post(
        "/api/v1/transfers/", data=json.dumps(_transfer(**payload)), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json() and "NUL" in response.json()[field][0]
    assert not Transfer.objects.exists() and not Source.objects.exists()


@pytest.mark.parametrize("name", ["donor", "recipient", "system", "search"])
def test_a_nul_character_in_a_query_parameter_is_a_400_naming_it(editor_api, name):
    response = editor_api.get(f"/api/v1/transfers/?{name}=U%00A")
    assert response.status_code == 400
    assert "NUL" in response.json()[name][0]


def test_a_nul_character_in_an_admin_search_is_a_400(admin_client):
    response = admin_client.get("/admin/transfers/transfer/?q=a%00b")
    assert response.status_code == 400


def test_citations_per_request_are_capped_with_a_400_naming_the_cap(editor_api):
    citations = [
        {"source": {"url": f"https://example.org/{n}", "title": f"R{n}"}, "excerpt": "x"}
        for n in range(MAX_CITATIONS_PER_REQUEST + 1)
    ]
    response = editor_api.post("/api/v1/transfers/", _transfer(citations=citations), format="json")
    assert response.status_code == 400
    assert response.json()["citations"]["non_field_errors"] == [
        f"At most {MAX_CITATIONS_PER_REQUEST} citations per request; "
        "add the others in further requests."
    ]
    assert not Transfer.objects.exists() and not Citation.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/nothing-here/",
        "/api/v1/transfers/not-a-number/",
        "/api/v1/transfers/999999/",
        "/api/v2/",
        "/api/",
    ],
)
def test_every_api_404_is_json(api_client_for, url):
    client = api_client_for(UserFactory(username="reader", role="viewer"))
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


def test_pages_outside_the_api_keep_html_404s(client):
    response = client.get("/nothing-here/")
    assert response.status_code == 404 and "text/html" in response["Content-Type"]
