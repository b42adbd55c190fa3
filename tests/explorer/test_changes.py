"""What changed in what we know (`/explore/parties/<code>/changes/?since=&until=`): the
estimates whose numbers differ between two moments of transaction time, before → after, and
the records naming the party created, changed or deleted in between."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.explorer.test_pages import cells

pytestmark = pytest.mark.django_db

URL = "/explore/parties/UA/changes/"


def correct_the_world(extra: int = 0, suffix: str = "") -> dict:
    """Germany delivered 10 Gepards to Ukraine; after `before`: corrected to 20, 5 IRIS-T
    from Poland recorded, a Leopard delivery deleted, and a Polish holding (not naming
    Ukraine) changed. `extra` more deliveries to Ukraine before `before`."""
    from stock.refresh import estimates_refresh_all
    from tests.factories import HoldingFactory, TransferFactory, WeaponSystemFactory, state
    from transfers.models import Transfer
    from transfers.services import record_delete, record_save, record_update

    gepard, iris, leopard = (
        WeaponSystemFactory(name=f"Gepard{suffix}"),
        WeaponSystemFactory(name=f"IRIS-T{suffix}"),
        WeaponSystemFactory(name=f"Leopard 1{suffix}"),
    )
    sent = TransferFactory(
        donor=state("DE"),
        recipient=state("UA"),
        system=gepard,
        quantity_low=10,
        quantity_high=10,
        notes="EDITOR-ONLY NOTE",
    )
    wrong = TransferFactory(
        donor=state("DE"), recipient=state("UA"), system=leopard, quantity_low=3, quantity_high=3
    )
    polish = HoldingFactory(holder=state("PL"), system=leopard)
    for _ in range(extra):
        TransferFactory(donor=state("GB"), recipient=state("UA"), system=WeaponSystemFactory())
    estimates_refresh_all()
    before = timezone.now()
    sent.quantity_low = sent.quantity_high = 20
    sent.quantity_text = "20"
    record_save(record=sent)
    TransferFactory(
        donor=state("PL"), recipient=state("UA"), system=iris, quantity_low=5, quantity_high=5
    )
    record_delete(record=Transfer.objects.get(pk=wrong.pk))
    record_update(record=polish, quantity_low=11, quantity_high=11)
    estimates_refresh_all()
    return {"gepard": gepard, "before": before.isoformat(), "after": timezone.now().isoformat()}


@pytest.fixture
def corrected(db):
    return correct_the_world()


def test_the_estimates_that_changed_show_before_and_after(viewer_client, corrected):
    response = viewer_client.get(URL, {"since": corrected["before"]})
    assert response.status_code == 200
    html = response.content.decode()
    changed = dict(
        zip(
            cells(html, "estimates", "system"),
            zip(cells(html, "estimates", "before"), cells(html, "estimates", "after"), strict=True),
            strict=True,
        )
    )
    assert changed == {
        "Gepard": ("≥ 10 on hand, 10 in, no count", "≥ 20 on hand, 20 in, no count"),
        "IRIS-T": ("no estimate", "≥ 5 on hand, 5 in, no count"),
        "Leopard 1": ("≥ 3 on hand, 3 in, no count", "no estimate"),
    }
    # each side links to its explanation as known at that moment
    assert "known_at=" in html and "/explore/explain/UA/" in html
    assert "EDITOR-ONLY" not in html
    assert "<caption" in html and 'scope="col"' in html


def test_the_records_created_changed_or_deleted_in_between(viewer_client, corrected):
    body = viewer_client.get(URL, {"since": corrected["before"], "format": "json"}).json()
    rows = body["tables"]["records"]["rows"]
    assert [
        (r["system"], r["change"], r["quantity_before"], r["quantity_after"]) for r in rows
    ] == [
        ("Gepard", "changed", "10", "20"),
        ("IRIS-T", "created", None, "5"),
        ("Leopard 1", "deleted", "3", "deleted"),
    ]  # not the Polish holding: it does not name Ukraine
    assert rows[0]["parties"] == "Germany → Ukraine"
    # an `until` before the corrections: nothing had changed yet
    early = viewer_client.get(
        URL, {"since": corrected["before"], "until": corrected["before"], "format": "json"}
    ).json()
    assert early["tables"]["records"]["rows"] == []
    assert early["tables"]["estimates"]["rows"] == []


def test_the_party_page_links_to_its_changes(viewer_client, corrected):
    html = viewer_client.get("/explore/parties/UA/").content.decode()
    assert f'href="{URL}?since=' in html


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "since= is required"),
        ({"since": "last tuesday"}, "since='last tuesday'"),
        ({"since": "2024-03-01", "until": "soon"}, "until='soon'"),
        ({"since": "2024-03-02", "until": "2024-03-01"}, "is before since"),
        ({"since": "2024-03-01", "known_at": "2024-03-01"}, "known_at"),
        ({"since": "2024-03-01", "format": "xml"}, "format='xml'"),
    ],
)
def test_bad_moments_are_refused_naming_them(viewer_client, corrected, params, words):
    response = viewer_client.get(URL, params)
    assert response.status_code == 400
    assert words in response.content.decode()


def test_it_is_behind_login_unless_public_and_cached(client, settings, corrected):
    settings.STOCKPILE_PUBLIC = False
    response = client.get(URL, {"since": corrected["before"]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    settings.STOCKPILE_PUBLIC = True
    first = client.get(URL, {"since": corrected["before"]})
    second = client.get(URL, {"since": corrected["before"]})
    assert first.status_code == second.status_code == 200
    assert (first["X-Explorer-Cache"], second["X-Explorer-Cache"]) == ("miss", "hit")
    assert first["ETag"] and first["Cache-Control"] == "public, max-age=0"


def _queries(client, since) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, {"since": since}).status_code == 200
    return len(queries)


#: session and user; the party; per moment: the systems' estimates and conflicts, the
#: family lineage (and, when there are families, their estimates and conflicts); the
#: systems shown; per record type the records as they were at `since` and where they ended
QUERIES = 22
QUERIES_WITH_FAMILIES = QUERIES + 4


def test_the_page_reads_in_a_fixed_number_of_queries(viewer_client, corrected):
    from django.core.cache import cache

    assert _queries(viewer_client, corrected["before"]) == QUERIES
    cache.clear()
    bigger = correct_the_world(extra=5, suffix=" (again)")
    assert _queries(viewer_client, bigger["before"]) == QUERIES


def test_with_families_the_page_reads_in_a_fixed_number_of_queries(viewer_client, world):
    from tests.factories import TransferFactory

    since = timezone.now().isoformat()
    TransferFactory(recipient=world["ua"], system=world["variant"], quantity_low=1)
    html = viewer_client.get(URL, {"since": since}).content.decode()
    assert cells(html, "estimates", "scope") == ["family", "system"]  # Skybolt, Block I
    # the download too: a family's sums are whole numbers on every engine (PostgreSQL's SUM
    # gave decimals, which JSON does not take)
    body = viewer_client.get(URL, {"since": since, "format": "json"}).json()
    assert [type(r["after_low"]) for r in body["tables"]["estimates"]["rows"]] == [int, int]
    from django.core.cache import cache

    cache.clear()
    assert _queries(viewer_client, since) == QUERIES_WITH_FAMILIES
