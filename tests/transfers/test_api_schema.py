"""The OpenAPI schema is valid and states the real constraints (pages from 1, page sizes up
to the limit, party references with an existing example), and a fuzzer driven by it
(schemathesis) finds no 5xx, no error that is not JSON and no response that breaks the
schema, on every operation, as an editor."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from core.api.tokens import api_token_create
from tests.factories import CitationFactory, HoldingFactory, PledgeFactory, UserFactory

# The schema is behind login unless the site is public; the fuzzer reads it as the public.
with override_settings(STOCKPILE_PUBLIC=True):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))


def test_docs_pages_need_a_login_unless_the_site_is_public(client, settings, viewer):
    assert client.get("/api/schema/").status_code in (401, 403)
    for url in ("/api/docs/", "/api/redoc/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.force_login(viewer)
    for url in ("/api/docs/", "/api/redoc/", "/api/schema/"):
        assert client.get(url).status_code == 200, url
    client.logout()
    settings.STOCKPILE_PUBLIC = True
    for url in ("/api/docs/", "/api/redoc/", "/api/schema/"):
        assert client.get(url).status_code == 200, url
    page = client.get("/api/docs/").content.decode()
    assert "drf_spectacular_sidecar" in page  # assets served locally, not from a CDN


def test_the_schema_is_generated_once_per_process(client, settings, django_assert_num_queries):
    from core.api.docs import _schemas, schema_cache_clear

    settings.STOCKPILE_PUBLIC = True
    schema_cache_clear()
    first = client.get("/api/schema/?format=json")
    assert first.status_code == 200 and len(_schemas) == 1
    cached = next(iter(_schemas.values()))
    second = client.get("/api/schema/?format=json")
    assert second.content == first.content and next(iter(_schemas.values())) is cached


@pytest.fixture
def editor_headers(db):
    # The WSGI app runs in this thread, inside the test's transaction: keep Django from
    # closing the connection at the end of each request (as its test client does).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    from django.core.cache import cache

    cache.clear()
    user = UserFactory(username="fuzz-editor", role="editor")
    CitationFactory()
    PledgeFactory()
    HoldingFactory()
    _, token = api_token_create(user=user)
    yield {"Authorization": f"Token {token}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_throttling(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"anon": None, "user": None, "write": None}
    )


@schemathesis.check
def errors_are_json(ctx, response, case):
    """Every refusal (4xx) and failure (5xx) answers in JSON, with a message."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type") or response.headers.get("Content-Type")
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if not (content_type or "").startswith("application/json"):
        raise AssertionError(f"{response.status_code} answered as {content_type!r}, not JSON")
    if not response.json():
        raise AssertionError(f"{response.status_code} with an empty JSON body")
    return None


def test_the_schema_states_the_pagination_limits_and_an_existing_party(db, settings):
    from drf_spectacular.generators import SchemaGenerator

    from inventory.models import Country

    document = SchemaGenerator().get_schema(request=None, public=True)
    parameters = {
        p["name"]: p for p in document["paths"]["/api/v1/transfers/"]["get"]["parameters"]
    }
    assert parameters["page"]["schema"]["oneOf"][0] == {"type": "integer", "minimum": 1}
    assert parameters["page_size"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": settings.STOCKPILE_API_MAX_PAGE_SIZE,
    }
    assert parameters["donor"]["schema"]["minLength"] == 1
    for code in parameters["donor"]["schema"]["example"].split(","):
        assert Country.objects.filter(code=code).exists(), code
    donor = document["components"]["schemas"]["TransferRequest"]["properties"]["donor"]
    assert Country.objects.filter(code=donor["example"]).exists()
    assert {"type": "integer", "minimum": 1} in donor["oneOf"]


# Examples per operation: ~70 operations; about a minute on a quiet machine.
FUZZ_EXAMPLES = 15


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_every_operation_conforms_to_the_schema(case, editor_headers):
    case.call_and_validate(
        # schemathesis' WSGI transport does not inflate gzip (core.compression): ask for none
        headers={**editor_headers, "Accept-Encoding": "identity"},
        checks=[
            not_a_server_error,
            errors_are_json,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ],
        excluded_checks=[negative_data_rejection],
    )
