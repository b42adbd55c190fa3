"""One ledger post per write (issue 14, part 5): a record with its citations, a transfer and
the pledge it fulfils, a citation moved from one record to another — whichever door — post
the stock ledger once, at the end of the write, and match once. Before, each citation
re-posted its record (a transfer with 1,000 citations regraded 1,000 times)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Country
from stock.models import LedgerEntry
from tests.factories import SourceFactory, UserFactory, WeaponSystemFactory
from transfers import ledger as transfers_ledger
from transfers.models import Citation, Pledge, Transfer
from transfers.services import pledge_create, transfer_create

pytestmark = pytest.mark.django_db

CITATION = {"excerpt": "officials said", "attribution": "named", "credibility": 2}


@pytest.fixture
def posts(monkeypatch):
    """The ledger posts and matchings made, each as the origins it posted."""
    made = {"posts": [], "matches": 0}
    post, match = transfers_ledger.ledger_post, transfers_ledger.movements_match

    def counted_post(postings, **kwargs):
        made["posts"].append(sorted(postings))
        return post(postings, **kwargs)

    def counted_match(pairs):
        made["matches"] += 1
        return match(pairs)

    monkeypatch.setattr(transfers_ledger, "ledger_post", counted_post)
    monkeypatch.setattr(transfers_ledger, "movements_match", counted_match)
    return made


@pytest.fixture
def world(db):
    system = WeaponSystemFactory(name="Once system")
    sources = [SourceFactory(url=f"https://news.example.org/once/{n}") for n in range(3)]
    pledge = pledge_create(
        donor=Country.objects.get(code="US"),
        recipient=Country.objects.get(code="UA"),
        system=system,
        quantity_text="10",
        status="announced",
        date="2024-11-01",
        date_precision="month",
    )
    return {"system": system, "sources": sources, "pledge": pledge}


def _cites(sources, grades=("C3", "B2", "D4")):
    return [
        {"source_id": s.pk, **CITATION, "reliability": g[0], "credibility": int(g[1])}
        for s, g in zip(sources, grades, strict=False)
    ]


def _transfer_payload(world, citations):
    return {
        "donor": "US",
        "recipient": "UA",
        "system": world["system"].pk,
        "pledge": world["pledge"].pk,
        "quantity_text": "3",
        "date": "2024-12-01",
        "date_precision": "month",
        "citations": citations,
    }


def test_an_api_create_with_citations_and_a_pledge_posts_once(api_client_for, world, posts):
    api = api_client_for(UserFactory(username="editor", role="editor"))
    payload = _transfer_payload(world, _cites(world["sources"]))
    response = api.post("/api/v1/transfers/", payload, format="json")
    assert response.status_code == 201, response.content
    transfer = Transfer.objects.get(pk=response.json()["id"])
    assert posts["posts"] == [
        sorted([("transfers.pledge", world["pledge"].pk), ("transfers.transfer", transfer.pk)])
    ]
    assert posts["matches"] == 1
    # ... with the best grade of the three citations, and the pledge's outstanding part
    rows = LedgerEntry.objects.filter(is_cancelled=False, origin_id=transfer.pk)
    assert {row.grade for row in rows.filter(origin_model="transfers.transfer")} == {"B2"}
    pledged = LedgerEntry.objects.get(
        is_cancelled=False, origin_model="transfers.pledge", kind="pledged_in"
    )
    assert (pledged.quantity_low, pledged.quantity_high) == (7, 7)


def test_ledger_queries_do_not_grow_with_the_citations_of_a_write(api_client_for, world, posts):
    api = api_client_for(UserFactory(username="editor", role="editor"))
    more = [SourceFactory(url=f"https://news.example.org/more/{n}") for n in range(20)]
    counts = []
    for n, citations in enumerate((_cites(world["sources"][:1]), _cites(more, ["B2"] * 20))):
        payload = _transfer_payload(world, citations)  # each in a pair of its own
        payload.update(system=WeaponSystemFactory(name=f"Alone {n}").pk, pledge=None)
        with CaptureQueriesContext(connection) as queries:
            response = api.post("/api/v1/transfers/", payload, format="json")
        assert response.status_code == 201, response.content
        counts.append(sum("inventory_ledgerentry" in q["sql"] for q in queries.captured_queries))
    assert counts[0] == counts[1] and len(posts["posts"]) == 2


def test_an_api_update_delete_and_citation_writes_post_once_each(api_client_for, world, posts):
    api = api_client_for(UserFactory(username="admin2", role="administrator"))
    transfer = transfer_create(**_fields(world), citations=[])
    posts["posts"].clear()

    def etag(url):
        return api.get(url)["ETag"]

    url = f"/api/v1/transfers/{transfer.pk}/"
    patched = api.patch(
        url,
        {"quantity_text": "4", "citations": _cites(world["sources"][:2])},
        format="json",
        HTTP_IF_MATCH=etag(url),
    )
    assert patched.status_code == 200, patched.content
    assert len(posts["posts"]) == 1
    citation = Citation.objects.filter(transfer=transfer).first()
    curl = f"/api/v1/citations/{citation.pk}/"
    regraded = api.patch(curl, {"reliability": "A"}, format="json", HTTP_IF_MATCH=etag(curl))
    assert regraded.status_code == 200, regraded.content
    assert posts["posts"][1:] == [[("transfers.transfer", transfer.pk)]]
    assert (
        LedgerEntry.objects.filter(
            is_cancelled=False, origin_model="transfers.transfer", origin_id=transfer.pk
        )
        .first()
        .grade.startswith("A")
    )
    deleted = api.delete(url, HTTP_IF_MATCH=etag(url))
    assert deleted.status_code == 204, deleted.content
    assert len(posts["posts"]) == 3  # the transfer cancelled and its pledge re-posted at once
    assert ("transfers.pledge", world["pledge"].pk) in posts["posts"][2]


def _fields(world):
    return {
        "donor": Country.objects.get(code="US"),
        "recipient": Country.objects.get(code="UA"),
        "system": world["system"],
        "pledge": world["pledge"],
        "quantity_text": "3",
        "date": "2024-12-01",
        "date_precision": "month",
    }


MANAGEMENT = {
    "citations-INITIAL_FORMS": "0",
    "citations-MIN_NUM_FORMS": "0",
    "citations-MAX_NUM_FORMS": "1000",
    "roles-TOTAL_FORMS": "0",
    "roles-INITIAL_FORMS": "0",
    "roles-MIN_NUM_FORMS": "0",
    "roles-MAX_NUM_FORMS": "1000",
}


def test_an_admin_form_with_inline_citations_posts_once(client, world, posts):
    client.force_login(UserFactory(username="editor", role="editor"))
    data = {
        "donor": Country.objects.get(code="US").pk,
        "recipient": Country.objects.get(code="UA").pk,
        "system": world["system"].pk,
        "pledge": world["pledge"].pk,
        "basis": "pledge",
        "condition": "unknown",
        "quantity_text": "3",
        "date": "2024-12",
        "date_precision": "month",
        "notes": "",
        "citations-TOTAL_FORMS": "3",
        **MANAGEMENT,
    }
    for n, source in enumerate(world["sources"]):
        data.update(
            {
                f"citations-{n}-source": source.pk,
                f"citations-{n}-stance": "supports",
                f"citations-{n}-locator": "",
                **{f"citations-{n}-{k}": v for k, v in CITATION.items()},
            }
        )
    response = client.post(reverse("admin:transfers_transfer_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    transfer = Transfer.objects.get()
    assert transfer.citations.count() == 3
    assert posts["posts"] == [
        sorted([("transfers.pledge", world["pledge"].pk), ("transfers.transfer", transfer.pk)])
    ]
    assert posts["matches"] == 1


def test_an_admin_bulk_delete_posts_once(client, world, posts):
    client.force_login(UserFactory(username="admin2", role="administrator"))
    transfers = [transfer_create(**_fields(world)) for _ in range(3)]
    posts["posts"].clear()
    response = client.post(
        reverse("admin:transfers_transfer_changelist"),
        {"action": "delete_selected", "post": "yes", "_selected_action": [t.pk for t in transfers]},
    )
    assert response.status_code == 302
    assert not Transfer.objects.exists()
    assert len(posts["posts"]) == 1
    assert not LedgerEntry.objects.filter(origin_model="transfers.transfer", is_cancelled=False)
    assert Pledge.objects.get().pk == world["pledge"].pk


def test_a_refused_write_posts_nothing(api_client_for, world, posts):
    api = api_client_for(UserFactory(username="editor", role="editor"))
    bad = _cites(world["sources"][:2])
    bad[1]["credibility"] = 9
    response = api.post("/api/v1/transfers/", _transfer_payload(world, bad), format="json")
    assert response.status_code == 400 and "credibility" in str(response.json())
    assert posts["posts"] == [] and not Transfer.objects.exists()
