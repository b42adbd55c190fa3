"""Every endpoint of the API, as anonymous, viewer, editor and administrator: list, detail,
create, update, delete, with the status codes the roles give, and nothing written when a
request is refused."""

from __future__ import annotations

import pytest

from inventory.models import Country, WeaponSystem
from tests.factories import (
    AuthorizationFactory,
    CitationFactory,
    CountryFactory,
    ExpenditureFactory,
    HoldingFactory,
    PledgeFactory,
    SourceFactory,
    TransferFactory,
    WeaponSystemFactory,
)
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Source, Transfer

pytestmark = pytest.mark.django_db


def _system():
    return WeaponSystemFactory().pk


def _record_body(**extra):
    return {"system": _system(), "quantity_text": "at least 20", "date": "2024-11-20", **extra}


# endpoint -> (model, factory, body for a create, a field change for an update)
ENDPOINTS = {
    "holdings": (
        Holding,
        HoldingFactory,
        lambda: _record_body(holder="PL", kind="contracted"),
        {"notes": "x"},
    ),
    "pledges": (
        Pledge,
        PledgeFactory,
        lambda: _record_body(donor=None, recipient="UA"),
        {"status": "withdrawn"},
    ),
    "transfers": (
        Transfer,
        TransferFactory,
        lambda: _record_body(donor="GB", recipient="UA"),
        {"notes": "x"},
    ),
    "expenditures": (
        Expenditure,
        ExpenditureFactory,
        lambda: _record_body(holder="UA", kind="launched"),
        {"location": "Crimea"},
    ),
    "authorizations": (
        Authorization,
        AuthorizationFactory,
        lambda: {
            "system": _system(),
            "grantor": "US",
            "holder": "UA",
            "scope": "Kursk",
            "date": "2024-11-17",
        },
        {"scope": "Bryansk"},
    ),
    "sources": (
        Source,
        SourceFactory,
        lambda: {"url": "https://example.org/new", "title": "New"},
        {"publisher": "P"},
    ),
    "citations": (
        Citation,
        CitationFactory,
        lambda: {
            "source_id": SourceFactory().pk,
            "record_type": "transfer",
            "record_id": TransferFactory().pk,
            "credibility": 3,
        },
        {"excerpt": "y"},
    ),
    "countries": (
        Country,
        CountryFactory,
        lambda: {"code": "XGRP", "name": "Some group", "kind": "non_state"},
        {"notes": "x"},
    ),
    "systems": (
        WeaponSystem,
        WeaponSystemFactory,
        lambda: {"name": "New system", "aliases": [{"alias": "NS-1", "kind": "designation"}]},
        {"manufacturer": "M"},
    ),
}
ROLES = ["anonymous", "viewer", "editor", "administrator"]
READ = {"anonymous": 401, "viewer": 200, "editor": 200, "administrator": 200}
CREATE = {"anonymous": 401, "viewer": 403, "editor": 201, "administrator": 201}
UPDATE = {"anonymous": 401, "viewer": 403, "editor": 200, "administrator": 200}
DELETE = {"anonymous": 401, "viewer": 403, "editor": 403, "administrator": 204}


@pytest.fixture
def as_role(request, api_client_for, viewer, editor, administrator):
    users = {"anonymous": None, "viewer": viewer, "editor": editor, "administrator": administrator}
    return lambda role: api_client_for(users[role])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_read_follows_the_role(as_role, endpoint, role):
    model, factory, _, _ = ENDPOINTS[endpoint]
    obj = factory()
    client = as_role(role)
    assert client.get(f"/api/v1/{endpoint}/").status_code == READ[role]
    assert client.get(f"/api/v1/{endpoint}/{obj.pk}/").status_code == READ[role]
    assert client.get(f"/api/v1/{endpoint}/{obj.pk}/history/").status_code == READ[role]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_create_follows_the_role(as_role, endpoint, role):
    model, _, body, _ = ENDPOINTS[endpoint]
    payload = body()
    before = model.objects.count()
    response = as_role(role).post(f"/api/v1/{endpoint}/", payload, format="json")
    assert response.status_code == CREATE[role], response.content
    assert model.objects.count() == before + (1 if CREATE[role] == 201 else 0)
    if response.status_code == 201:
        assert response["ETag"]
        history = model.history.filter(id=response.json()["id"]).get()
        assert history.door == "api" and history.actor_name == role


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_update_follows_the_role(as_role, endpoint, role):
    model, factory, _, change = ENDPOINTS[endpoint]
    obj = factory()
    client = as_role(role)
    response = client.patch(
        f"/api/v1/{endpoint}/{obj.pk}/", change, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == UPDATE[role], response.content
    field, value = next(iter(change.items()))
    obj.refresh_from_db()
    assert (getattr(obj, field) == value) == (UPDATE[role] == 200)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_delete_follows_the_role(as_role, endpoint, role):
    model, factory, _, _ = ENDPOINTS[endpoint]
    obj = factory()
    response = as_role(role).delete(f"/api/v1/{endpoint}/{obj.pk}/", HTTP_IF_MATCH="*")
    assert response.status_code == DELETE[role], response.content
    assert model.objects.filter(pk=obj.pk).exists() == (DELETE[role] != 204)


@pytest.mark.parametrize("endpoint", ["transfers", "holdings"])
def test_put_of_what_was_read_round_trips(as_role, endpoint):
    _, factory, _, _ = ENDPOINTS[endpoint]
    citation = CitationFactory(**{"transfer": None, endpoint[:-1]: factory()})
    record = citation.record
    client = as_role("editor")
    read = client.get(f"/api/v1/{endpoint}/{record.pk}/")
    response = client.put(
        f"/api/v1/{endpoint}/{record.pk}/", read.json(), format="json", HTTP_IF_MATCH=read["ETag"]
    )
    assert response.status_code == 200, response.content
    assert response.json()["citations"] == read.json()["citations"]  # kept, not duplicated


def test_anonymous_read_is_a_setting(api_client_for, settings):
    TransferFactory()
    client = api_client_for(None)
    assert client.get("/api/v1/transfers/").status_code == 401
    settings.STOCKPILE_API_ANONYMOUS_READ = True
    assert client.get("/api/v1/transfers/").status_code == 200
    assert client.get("/api/v1/history/?model=transfer").status_code == 200
    assert client.post("/api/v1/transfers/", {}, format="json").status_code == 401


def test_session_authentication_works_too(client, viewer):
    TransferFactory()
    client.force_login(viewer)
    assert client.get("/api/v1/transfers/", HTTP_ACCEPT="application/json").status_code == 200


def test_writes_are_throttled_per_user(as_role, monkeypatch):
    from core.api.throttles import WriteRateThrottle

    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"write": "2/minute", "user": None})
    client = as_role("editor")
    codes = [
        client.post(
            "/api/v1/sources/", {"url": f"https://t.example/{n}", "title": "t"}, format="json"
        ).status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    assert client.get("/api/v1/sources/").status_code == 200  # reads are not counted as writes
