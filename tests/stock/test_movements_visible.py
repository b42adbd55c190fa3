"""Movements and conflicts are visible (API, admin), explained ("why this number": the
movement, its reports, which datasets set each bound, what was left out as a duplicate), and
offered at entry (a record's likely matches)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from stock.models import Movement, MovementReport, StockEstimate
from tests.factories import SourceFactory, state
from tests.stock.test_movements import FILES, _import, _refresh
from transfers.models import Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(db):
    for name, data in FILES.items():
        _import(name, data())
    _refresh()


@pytest.fixture
def api(api_client_for, viewer):
    return api_client_for(viewer)


def _results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_movements_and_conflicts_endpoints_list_reports_and_filter(
    api, three, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        rows = _results(api.get("/api/v1/movements/", {"holder": "UA", "page_size": 50}))
    challenger = next(r for r in rows if r["system"]["name"] == "Challenger-2")
    assert challenger["quantity"] == {"low": 14, "high": 14, "display": "14"}
    assert challenger["donor"]["code"] == "GB" and not challenger["conflict"]
    assert sorted(r["dataset"] for r in challenger["reports"]) == ["kiel", "oryx-supplied", "sipri"]
    with django_assert_max_num_queries(12):
        conflicts = _results(api.get("/api/v1/conflicts/", {"dataset": "kiel", "page_size": 2}))
    assert [(c["system"]["name"], c["quantity"]["display"]) for c in conflicts] == [
        ("Leopard-1A5", "30–62")
    ]
    assert _results(api.get("/api/v1/conflicts/", {"donor": "GB"})) == []
    bad = api.get("/api/v1/conflicts/", {"party": "UA"})
    assert bad.status_code == 400 and "party" in bad.json()
    assert api.post("/api/v1/movements/", {}).status_code == 405


def test_the_estimates_say_where_a_conflict_is_counted(api, three):
    rows = _results(api.get("/api/v1/estimates/", {"holder": "UA", "conflict": "true"}))
    assert {r["system"]["name"] for r in rows} == {"Leopard-1A5"}
    assert all(r["conflict"] for r in rows)


def test_why_this_number_shows_the_movement_its_bounds_and_the_duplicates_left_out(api, three):
    estimate = StockEstimate.objects.get(
        holder=state("UA"), system__name="Challenger-2", scope="system"
    )
    rows = _results(api.get(f"/api/v1/estimates/{estimate.pk}/explanation/"))
    received = [r for r in rows if r["movement"] == "received"]
    left_out = [r for r in received if not r["counted"]]
    assert len(left_out) == 3
    assert all("a duplicate: another report of movement" in r["left_out"] for r in left_out)
    (counted,) = [r for r in received if r["counted"]]
    assert counted["record"]["type"] == "movement"
    reconciliation = counted["reconciliation"]
    assert reconciliation["low_set_by"] == ["kiel", "oryx-supplied", "sipri"]
    assert reconciliation["datasets"] == {"kiel": "14", "oryx-supplied": "14", "sipri": "14"}
    conflict = StockEstimate.objects.get(
        holder=state("UA"), system__name="Leopard-1A5", scope="system"
    )
    rows = _results(api.get(f"/api/v1/estimates/{conflict.pk}/explanation/"))
    (movement,) = [r for r in rows if r["counted"]]
    assert movement["reconciliation"]["conflict"] is True
    assert movement["reconciliation"]["low_set_by"] == ["oryx-supplied"]
    assert movement["reconciliation"]["high_set_by"] == ["kiel"]


def test_a_record_written_through_the_api_comes_back_with_its_likely_matches(
    api_client_for, editor, three
):
    api = api_client_for(editor)
    source = SourceFactory()
    response = api.post(
        "/api/v1/transfers/",
        {
            "donor": "GB",
            "recipient": "UA",
            "system": "Challenger-2",
            "quantity_text": "14",
            "date": "2023-03-27",
            "date_precision": "day",
            "citations": [
                {
                    "source": {"url": source.url, "title": source.title},
                    "excerpt": "14 Challenger 2",
                    "credibility": 2,
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    matches = response.json()["candidate_matches"]
    assert {m["dataset"] for m in matches} == {"kiel", "oryx-supplied", "sipri"}
    assert {m["status"] for m in matches} == {"same movement"}
    _refresh()
    received = StockEstimate.objects.get(
        holder=state("UA"), system__name="Challenger-2", scope="system"
    )
    assert (received.received_low, received.received_high) == (14, 14)
    assert Movement.objects.get(system__name="Challenger-2").report_count == 4


def test_the_admin_lists_conflicts_shows_movements_matches_and_explanations(viewer_client, three):
    page = viewer_client.get(reverse("admin:stock_movementconflict_changelist"))
    assert page.status_code == 200
    listed = {m.system.name for m in page.context_data["cl"].result_list}
    assert "Leopard-1A5" in listed and "Challenger-2" not in listed
    filtered = viewer_client.get(
        reverse("admin:stock_movementconflict_changelist"), {"dataset": "sipri"}
    )
    assert "Leopard-1A5" not in {m.system.name for m in filtered.context_data["cl"].result_list}
    movement = Movement.objects.get(system__name="Challenger-2")
    page = viewer_client.get(reverse("admin:stock_movement_change", args=[movement.pk]))
    assert page.status_code == 200 and "oryx-supplied" in page.content.decode()
    transfer = Transfer.objects.get(external_id__startswith="kiel:", system__name="Challenger-2")
    page = viewer_client.get(reverse("admin:transfers_transfer_change", args=[transfer.pk]))
    assert "Likely matches" in page.content.decode()
    assert "same movement" in page.content.decode()
    estimate = StockEstimate.objects.get(
        holder=state("UA"), system__name="Challenger-2", scope="system"
    )
    page = viewer_client.get(reverse("admin:stock_stockestimate_change", args=[estimate.pk]))
    assert "left out: a duplicate" in page.content.decode()
    assert "counted once" in page.content.decode()


def test_deciding_in_the_admin_needs_the_permission(viewer, editor, three):
    from django.test import Client

    viewer_client, editor_client = Client(), Client()
    viewer_client.force_login(viewer)
    editor_client.force_login(editor)
    movement = Movement.objects.get(system__name="Challenger-2")
    report = MovementReport.objects.filter(movement=movement, dataset="kiel").first()
    url = reverse("admin:stock_movementreport_changelist")
    data = {"action": "split_reports", "_selected_action": [report.pk]}
    viewer_client.post(url, data)
    assert MovementReport.objects.get(pk=report.pk).movement_id == movement.pk
    response = editor_client.post(url, data)
    assert response.status_code == 302
    assert MovementReport.objects.get(pk=report.pk).movement_id != movement.pk


def _dated_conflict():
    """US → UA, one system: two outlets report 10 May 2024 with disjoint counts (10, 30)."""
    from tests.factories import WeaponSystemFactory
    from tests.stock.test_movements import _transfer

    system = WeaponSystemFactory(name="Conflicted Howitzer")
    _transfer(SourceFactory(), "10", dt.date(2024, 5, 10), system)
    _transfer(SourceFactory(), "30", dt.date(2024, 5, 10), system)
    _refresh()
    assert Movement.objects.get(system=system).conflict
    return system


def test_as_of_estimates_carry_the_conflict_flag_from_the_day_the_conflict_may_count(api):
    system = _dated_conflict()
    stored = StockEstimate.objects.get(holder=state("UA"), system=system, scope="system")
    assert stored.conflict

    def as_of(day):
        rows = _results(api.get("/api/v1/estimates/", {"holder": "UA", "as_of": day}))
        found = [r for r in rows if r["system"]["name"] == "Conflicted Howitzer"]
        return (found[0]["received"]["display"], found[0]["conflict"]) if found else None

    assert as_of("2024-05-01") is None  # before it: nothing counted, no estimate, no flag
    assert as_of("2024-06-30") == ("10–30", True)  # counted with the cover, flagged
    sent = _results(api.get("/api/v1/estimates/", {"holder": "US", "as_of": "2024-06-30"}))
    assert [r["conflict"] for r in sent if r["system"]["name"] == "Conflicted Howitzer"] == [True]


def test_as_of_estimates_of_an_undated_conflict_are_flagged_on_any_day(api, three):
    rows = _results(api.get("/api/v1/estimates/", {"holder": "UA", "as_of": "2022-06-30"}))
    flags = {r["system"]["name"]: r["conflict"] for r in rows}
    assert flags["Leopard-1A5"] is True
    assert flags["Challenger-2"] is False
    assert {name for name, flag in flags.items() if flag} == {
        e.system.name
        for e in StockEstimate.objects.filter(holder=state("UA"), scope="system", conflict=True)
    }


def test_the_admin_monthly_points_flag_the_months_a_conflict_counts_in(viewer_client):
    system = _dated_conflict()
    estimate = StockEstimate.objects.get(holder=state("UA"), system=system, scope="system")
    page = viewer_client.get(reverse("admin:stock_stockestimate_change", args=[estimate.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    series = html[html.index("<th>month</th>") :]
    rows = {row.split("</td>")[0]: row for row in series.split("<tr><td>")[1:]}
    assert "CONFLICT" in rows["May 2024"] and "CONFLICT" in rows[list(rows)[-1]]
    assert all("CONFLICT" not in row for month, row in rows.items() if month.endswith("2023"))
