"""/api/v1/estimates/: current estimates with filters, estimates as of a past date, the
explanation ("why this number") and the monthly series; read-only for everyone; bad input
is a 400 that names it; query counts do not grow with the page size."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.models import WeaponSystem
from stock.models import StaleEstimate, StockEstimate
from stock.refresh import estimates_refresh_pairs
from tests.factories import WeaponSystemFactory, state
from transfers import services
from transfers.demo import demo_load

pytestmark = pytest.mark.django_db

URL = "/api/v1/estimates/"


@pytest.fixture
def estimates(db):
    demo_load()
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))


@pytest.fixture
def api(api_client_for, viewer):
    return api_client_for(viewer)


def _results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_list_filters_by_holder_system_family_and_scope(api, estimates):
    rows = _results(api.get(URL, {"holder": "UA", "system": "Storm Shadow"}))
    assert [(r["holder"]["code"], r["system"]["name"], r["scope"]) for r in rows] == [
        ("UA", "Storm Shadow", "system")
    ]
    storm = rows[0]
    assert storm["received"] == {"low": 25, "high": None, "display": "≥25"}
    # On hand is unknown (nobody counted), but the headline says what is known.
    assert storm["on_hand"] == {"low": 0, "high": None, "display": "≥ 25 in, ≥ 1 used, no count"}
    assert storm["display"] == "≥ 25 in, ≥ 1 used, no count"
    assert storm["incoming"]["low"] == 1 and storm["baseline"] is None
    assert storm["evidence"]["record_count"] == 4
    family = _results(api.get(URL, {"holder": "UA", "system_family": "MGM-140", "scope": "family"}))
    assert [(r["system"]["name"], r["expended"]["display"]) for r in family] == [("ATACMS", "≥2")]
    buyers = _results(api.get(URL, {"system": "ATACMS", "scope": "system", "ordering": "id"}))
    assert {r["holder"]["code"] for r in buyers} >= {"PL", "RO", "KR", "TW", "AE"}


def test_flags_filter(api):
    system = WeaponSystemFactory()
    services.holding_create(
        holder=state("UA"), system=system, quantity_low=0, quantity_high=0, date=dt.date(2022, 1, 1)
    )
    services.expenditure_create(
        holder=state("UA"),
        system=system,
        kind="destroyed",
        quantity_text="3",
        date=dt.date(2023, 1, 1),
    )
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))
    rows = _results(api.get(URL, {"inconsistent": "true"}))
    assert [r["system"]["id"] for r in rows] == [system.pk]
    assert rows[0]["inconsistent"] is True and rows[0]["on_hand"]["display"] == "0"
    assert _results(api.get(URL, {"has_baseline": "true"}))[0]["baseline"]["low"] == 0


def test_as_of_computes_from_the_ledger(api, estimates):
    rows = _results(api.get(URL, {"holder": "UA", "system": "Storm Shadow", "as_of": "2023-06-01"}))
    assert len(rows) == 1
    assert rows[0]["id"] is None and rows[0]["computed_at"] is None
    assert rows[0]["as_of"] == "2023-06-01"
    assert rows[0]["received"]["display"] == "≥1"  # only the May 2023 delivery
    assert rows[0]["incoming"]["display"] == "0"  # France's pledge came in July 2023
    before = _results(api.get(URL, {"holder": "UA", "as_of": "2020-01-01"}))
    assert before == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"as_of": "2023-06-01"}, "as_of"),  # unbounded: needs a holder or a system
        ({"holder": "UA", "as_of": "2023-13-01"}, "as_of"),
        ({"holder": "Atlantis"}, "holder"),
        ({"system": "Death Star"}, "system"),
        ({"scope": "galaxy"}, "scope"),
        ({"inconsistent": "maybe"}, "inconsistent"),
        ({"holdr": "UA"}, "holdr"),
        ({"ordering": "price"}, "ordering"),
    ],
)
def test_bad_parameters_are_400s_that_name_them(api, estimates, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_the_explanation_lists_rows_records_and_citations_in_date_order(api, estimates):
    estimate = StockEstimate.objects.get(holder=state("UA"), system__name="Storm Shadow")
    rows = _results(api.get(f"{URL}{estimate.pk}/explanation/"))
    assert [r["movement"] for r in rows] == ["received", "pledged_in", "expended", "received"]
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    dozens = rows[-1]
    assert dozens["quantity"] == {"low": 24, "high": 99, "display": "24–99"}
    assert dozens["quantity_text"] == "dozens more"
    assert dozens["record"]["type"] == "transfer"
    assert dozens["record"]["url"].endswith(f"/api/v1/transfers/{dozens['record']['id']}/")
    assert dozens["citations"][0]["source"]["title"].startswith("US in talks")
    assert all(r["citations"] for r in rows)
    earlier = _results(api.get(f"{URL}{estimate.pk}/explanation/", {"as_of": "2023-06-30"}))
    assert [r["movement"] for r in earlier] == ["received"]
    bad = api.get(f"{URL}{estimate.pk}/explanation/", {"as_of": "June"})
    assert bad.status_code == 400 and "as_of" in bad.json()


def test_the_series_has_a_point_per_month(api, estimates):
    estimate = StockEstimate.objects.get(holder=state("UA"), system__name="M142 HIMARS")
    response = api.get(f"{URL}{estimate.pk}/series/", {"page_size": 500})
    points = _results(response)
    assert points[0]["as_of"] == "2022-06-30"
    assert points[0]["on_hand"]["display"] == "≥4"
    assert len({p["as_of"][:7] for p in points}) == len(points)


def test_estimates_are_read_only_for_every_role(api_client_for, editor, administrator, estimates):
    estimate = StockEstimate.objects.first()
    for user in (editor, administrator):
        client = api_client_for(user)
        assert client.get(f"{URL}{estimate.pk}/").status_code == 200
        assert client.post(URL, {}, format="json").status_code == 405
        assert (
            client.patch(f"{URL}{estimate.pk}/", {"on_hand_low": 1}, format="json").status_code
            == 405
        )
        assert client.delete(f"{URL}{estimate.pk}/").status_code == 405
    assert api_client_for(None).get(URL).status_code == 401


def test_csv_on_the_list_and_not_on_the_explanation(api, estimates):
    response = api.get(URL, {"holder": "UA", "format": "csv"})
    assert response.status_code == 200
    header = response.content.decode().splitlines()[0]
    assert "on_hand.low" in header and "holder.code" in header
    estimate = StockEstimate.objects.first()
    assert api.get(f"{URL}{estimate.pk}/", {"format": "csv"}).status_code == 406


def test_list_queries_do_not_grow_with_the_page_size(api, django_assert_max_num_queries):
    systems = [WeaponSystemFactory() for _ in range(12)]
    for system in systems:
        services.transfer_create(
            donor=state("US"), recipient=state("UA"), system=system, quantity_text="2"
        )
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for extra in ({}, {"as_of": "2026-01-01", "holder": "UA"}):
        counts = []
        for size in (2, 10):
            with CaptureQueriesContext(connection) as context:
                rows = _results(api.get(URL, {"page_size": size, **extra}))
            assert len(rows) == size
            counts.append(len(context))
        assert counts[0] == counts[1], extra
    with django_assert_max_num_queries(12):
        api.get(URL, {"page_size": 20, "as_of": "2026-01-01", "holder": "UA"})
    assert WeaponSystem.objects.count() >= 12
