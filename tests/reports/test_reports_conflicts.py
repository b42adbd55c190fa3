"""The "new conflicts" section of the report emails: movements whose datasets came to
disagree in the period (docs/reconciliation.md), in the subscriber's scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F

from reports.periods import period_containing
from reports.rendering import report_message
from reports.selectors import report_build
from stock.models import Movement
from tests.factories import SourceFactory, WeaponSystemFactory, state
from tests.reports.test_reports import backdate, daily_subscriber, yesterday
from transfers import services

pytestmark = pytest.mark.django_db


def _reported_twice(system, low: str, high: str, recipient: str = "UA") -> Movement:
    """Two outlets report one delivery (US → recipient, May 2024) with disjoint counts."""
    for quantity in (low, high):
        services.transfer_create(
            donor=state("US"),
            recipient=state(recipient),
            system=system,
            quantity_text=quantity,
            date=dt.date(2024, 5, 10),
            date_precision="day",
            citations=[{"source": SourceFactory(), "excerpt": quantity, "credibility": 2}],
        )
    movement = Movement.objects.get(system=system, holder=state(recipient))
    assert movement.conflict
    return movement


def _age(days: int) -> None:
    backdate(days)
    Movement.history.model.objects.update(history_date=F("history_date") - dt.timedelta(days))


def test_a_movement_that_became_a_conflict_in_the_period_is_listed_with_its_datasets():
    old = _reported_twice(WeaponSystemFactory(name="Old Howitzer"), "5", "9")
    _age(3)  # a conflict since before the period: not news
    new = _reported_twice(WeaponSystemFactory(name="New Howitzer"), "10", "30")
    _reported_twice(WeaponSystemFactory(name="Polish Howitzer"), "1", "3", recipient="PL")
    _age(1)
    subscription = daily_subscriber(countries=[state("UA")])

    report = report_build(subscription=subscription, period=period_containing(yesterday(), "daily"))

    assert report.conflicts_total == 1 and not report.is_empty
    (line,) = report.conflicts
    assert line.label == str(new) and "New Howitzer" in line.label
    assert sorted(part.split(" ")[1] for part in line.datasets.split("; ")) == ["10", "30"]
    assert line.admin_url.endswith(f"/admin/stock/movementconflict/{new.pk}/change/")
    message = report_message(report, recipient="x@example.org")
    assert "== New conflicts (1) ==" in message.body
    assert str(old) not in message.body
    html = message.alternatives[0][0]
    assert "New conflicts (1)" in html and "New Howitzer" in html


def test_no_new_conflict_means_no_section_and_a_resolved_one_is_not_listed():
    from transfers.models import Transfer

    system = WeaponSystemFactory(name="Agreed Howitzer")
    movement = _reported_twice(system, "10", "30")

    disagreeing = Transfer.objects.get(system=system, quantity_low=30)
    services.record_update(
        record=disagreeing, quantity_text="10", quantity_low=10, quantity_high=10
    )
    movement.refresh_from_db()
    assert not movement.conflict
    _age(1)
    subscription = daily_subscriber()

    report = report_build(subscription=subscription, period=period_containing(yesterday(), "daily"))

    assert report.conflicts == [] and report.conflicts_total == 0
    assert "New conflicts" not in report_message(report, recipient="x@example.org").body
