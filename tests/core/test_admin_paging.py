"""Admin lists count exactly up to a bound, then (on PostgreSQL) take the planner's
estimate: no page view counts a whole big table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import admin_paging
from core.admin_paging import EstimatedCountPaginator
from tests.factories import TransferFactory
from transfers.models import Transfer

pytestmark = pytest.mark.django_db


def test_small_lists_are_counted_exactly(monkeypatch):
    for _ in range(3):
        TransferFactory()
    monkeypatch.setattr(admin_paging, "EXACT_UP_TO", 3)
    paginator = EstimatedCountPaginator(Transfer.objects.order_by("pk"), 2)
    assert paginator.count == 3 and not paginator.estimated
    assert paginator.num_pages == 2


def test_past_the_bound_postgresql_estimates_without_counting_the_table(monkeypatch):
    for _ in range(5):
        TransferFactory()
    monkeypatch.setattr(admin_paging, "EXACT_UP_TO", 3)
    paginator = EstimatedCountPaginator(Transfer.objects.order_by("pk"), 2)
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    if connection.vendor != "postgresql":
        assert count == 5 and not paginator.estimated
        return
    assert paginator.estimated and count >= 4  # at least past the bound
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 4" in sql for sql in counts), counts
    assert any(q["sql"].upper().startswith("EXPLAIN") for q in queries)


def test_the_transfer_changelist_pages_with_the_bounded_count(admin_client, monkeypatch):
    for _ in range(5):
        TransferFactory()
    monkeypatch.setattr(admin_paging, "EXACT_UP_TO", 3)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/admin/transfers/transfer/")
    assert response.status_code == 200
    whole = [
        q["sql"]
        for q in queries
        if "COUNT(" in q["sql"].upper()
        and '"transfers_transfer"' in q["sql"]
        and "LIMIT" not in q["sql"].upper()
    ]
    if connection.vendor == "postgresql":
        assert whole == []
    assert response.context["cl"].paginator.__class__ is EstimatedCountPaginator
