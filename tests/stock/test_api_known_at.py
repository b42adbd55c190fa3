"""The estimates as known at a past moment (`?known_at=`), what changed between two moments
(`/api/v1/estimates/changes/`, `/api/v1/changes/?since=&until=`), and the snapshots that
anonymous readers get (no notes, no external ids, no editors)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from stock.refresh import estimates_refresh_all
from tests.factories import TransferFactory, UserFactory, WeaponSystemFactory, state
from transfers.models import Transfer
from transfers.services import record_delete, record_save

pytestmark = pytest.mark.django_db

URL = "/api/v1/estimates/"


@pytest.fixture
def corrected(db):
    """Germany delivered 10 Gepards to Ukraine; after `before` it was corrected to 20, a
    Poland → Ukraine delivery of 5 IRIS-T was recorded, and a Leopard delivery deleted."""
    gepard, iris, leopard = (
        WeaponSystemFactory(name="Gepard"),
        WeaponSystemFactory(name="IRIS-T"),
        WeaponSystemFactory(name="Leopard 1"),
    )
    sent = TransferFactory(
        donor=state("DE"),
        recipient=state("UA"),
        system=gepard,
        quantity_low=10,
        quantity_high=10,
        notes="EDITOR-ONLY NOTE",
        external_id="KIEL-123",
    )
    wrong = TransferFactory(donor=state("DE"), recipient=state("UA"), system=leopard)
    estimates_refresh_all()
    before = timezone.now()
    sent.quantity_low = sent.quantity_high = 20
    sent.quantity_text = "20"
    record_save(record=sent, actor=UserFactory(username="corrector", role="editor"))
    TransferFactory(
        donor=state("PL"), recipient=state("UA"), system=iris, quantity_low=5, quantity_high=5
    )
    record_delete(record=Transfer.objects.get(pk=wrong.pk))
    estimates_refresh_all()
    return {
        "gepard": gepard,
        "iris": iris,
        "leopard": leopard,
        "transfer": sent,
        "before": before.isoformat(),
        "after": timezone.now().isoformat(),
    }


@pytest.fixture
def api(api_client_for, viewer):
    return api_client_for(viewer)


def _body(response):
    assert response.status_code == 200, response.content
    return response.json()


def test_estimates_as_known_at_count_the_ledger_rows_known_then(api, corrected):
    params = {"holder": "UA", "scope": "system"}
    now = _body(api.get(URL, params))["results"]
    then = _body(api.get(URL, {**params, "known_at": corrected["before"]}))["results"]
    assert {r["system"]["name"]: r["received"]["low"] for r in now} == {"Gepard": 20, "IRIS-T": 5}
    assert {r["system"]["name"]: r["received"]["low"] for r in then} == {
        "Gepard": 10,
        "Leopard 1": 10,
    }
    assert all(r["id"] is None and r["computed_at"] is None for r in then)
    # a date: the end of that day; long before anything was recorded nothing was known
    early = _body(api.get(URL, {**params, "known_at": "2001-01-01"}))["results"]
    assert early == []
    # known_at and as_of together: what we knew then about an earlier date
    past = _body(api.get(URL, {**params, "known_at": corrected["before"], "as_of": "2024-12-31"}))
    assert {r["system"]["name"]: r["received"]["low"] for r in past["results"]} == {
        "Gepard": 10,
        "Leopard 1": 10,
    }
    assert {r["as_of"] for r in past["results"]} == {"2024-12-31"}
    assert (
        _body(api.get(URL, {**params, "known_at": corrected["before"], "as_of": "2020-01-01"}))[
            "results"
        ]
        == []
    )  # the deliveries are dated November 2024: none had happened by 2020


def test_the_explanation_as_known_at_lists_the_rows_known_then(api, corrected):
    from stock.models import StockEstimate

    estimate = StockEstimate.objects.get(holder=state("UA"), system=corrected["gepard"])
    url = f"{URL}{estimate.pk}/explanation/"
    now = _body(api.get(url))["results"]
    then = _body(api.get(url, {"known_at": corrected["before"]}))["results"]
    assert [r["quantity"]["low"] for r in now] == [20]
    assert [r["quantity"]["low"] for r in then] == [10]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"known_at": "last tuesday", "holder": "UA"}, "known_at"),
        ({"known_at": "2024-02-30", "holder": "UA"}, "known_at"),
        ({"known_at": "2024-03-01"}, "known_at"),  # nothing named: unbounded
    ],
)
def test_a_bad_known_at_is_a_400_naming_it(api, corrected, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    if "holder" in params:
        assert repr(params["known_at"]) in response.json()[field][0]


def test_the_estimates_that_changed_between_two_moments(api, corrected):
    body = _body(
        api.get(
            f"{URL}changes/",
            {"since": corrected["before"], "until": corrected["after"], "holder": "UA"},
        )
    )
    rows = {(r["system"]["name"], r["scope"]): r for r in body["results"]}
    assert set(rows) == {("Gepard", "system"), ("IRIS-T", "system"), ("Leopard 1", "system")}
    gepard = rows[("Gepard", "system")]
    assert (gepard["before"]["on_hand"]["display"], gepard["after"]["on_hand"]["display"]) == (
        "≥ 10 on hand, 10 in, no count",
        "≥ 20 on hand, 20 in, no count",
    )
    assert "received_low" in gepard["changed"] and "sent_low" not in gepard["changed"]
    assert rows[("IRIS-T", "system")]["before"] is None
    assert rows[("Leopard 1", "system")]["after"] is None
    # until defaults to now; nothing changed since now
    assert (
        _body(api.get(f"{URL}changes/", {"since": corrected["before"], "holder": "UA"}))["count"]
        == 3
    )
    later = _body(api.get(f"{URL}changes/", {"since": corrected["after"], "holder": "UA"}))
    assert later["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"holder": "UA"}, "since"),
        ({"since": "soon", "holder": "UA"}, "since"),
        ({"since": "2024-03-02", "until": "2024-03-01", "holder": "UA"}, "until"),
        ({"since": "2024-03-01"}, "since"),
        ({"since": "2024-03-01", "holder": "Atlantis"}, "holder"),
        ({"since": "2024-03-01", "holder": "UA", "best_grade": "A1"}, "best_grade"),
    ],
)
def test_bad_changes_parameters_are_a_400_naming_them(api, corrected, params, field):
    response = api.get(f"{URL}changes/", params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_estimate_changes_run_a_fixed_number_of_queries(api, corrected, django_assert_num_queries):
    from tests.factories import TransferFactory as More

    params = {"since": corrected["before"], "holder": "UA", "scope": "system"}
    _body(api.get(f"{URL}changes/", params))  # the token's last use
    # token, permissions (on PostgreSQL in the token's query), the holder named; per moment
    # the estimates and the conflicts; then the page's parties and systems
    from django.db import connection

    queries = 8 if connection.vendor == "postgresql" else 9
    with django_assert_num_queries(queries):
        _body(api.get(f"{URL}changes/", params))
    for _ in range(3):
        More(donor=state("PL"), recipient=state("UA"), system=WeaponSystemFactory())
    with django_assert_num_queries(queries):
        assert _body(api.get(f"{URL}changes/", params))["count"] == 6


def test_the_change_feed_between_two_moments(api, corrected):
    body = _body(
        api.get(
            "/api/v1/changes/",
            {"since": corrected["before"], "until": corrected["after"], "model": "transfer"},
        )
    )
    assert [(r["change"], r["snapshot"]["quantity_low"]) for r in body["results"]] == [
        ("changed", 20),
        ("created", 5),
        ("deleted", 10),
    ]
    none = _body(api.get("/api/v1/changes/", {"until": "2001-01-01", "model": "transfer"}))
    assert none["results"] == []
    bad = api.get("/api/v1/changes/", {"since": "2024-03-02", "until": "2024-03-01"})
    assert bad.status_code == 400 and "until" in bad.json()


def test_anonymous_readers_get_snapshots_without_unpublished_fields(
    api_client_for, viewer, settings, corrected
):
    settings.STOCKPILE_API_ANONYMOUS_READ = True
    anonymous, staff = api_client_for(None), api_client_for(viewer)
    pk = corrected["transfer"].pk
    for client, public in ((anonymous, True), (staff, False)):
        feed = _body(client.get("/api/v1/changes/", {"model": "transfer"}))["results"]
        history = _body(client.get("/api/v1/history/", {"model": "transfer", "object_id": pk}))
        own = _body(client.get(f"/api/v1/transfers/{pk}/history/"))
        snapshots = [r["snapshot"] for r in feed if r["object_id"] == pk]
        snapshots += [r["snapshot"] for r in history["results"] + own["results"]]
        assert len(snapshots) == 6
        for snapshot in snapshots:
            assert snapshot["quantity_low"] in (10, 20)
            if public:
                assert "notes" not in snapshot and "external_id" not in snapshot
            else:
                assert snapshot["notes"] == "EDITOR-ONLY NOTE"
                assert snapshot["external_id"] == "KIEL-123"
        actors = {r["actor"] for r in history["results"] + own["results"]}
        assert ("corrector" in actors) is not public
        assert actors == {""} or not public
        text = str(feed) + str(history) + str(own)
        assert ("EDITOR-ONLY NOTE" in text) is not public
        assert ("KIEL-123" in text) is not public
