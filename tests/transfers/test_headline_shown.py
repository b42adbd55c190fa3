"""Where an estimate appears, its headline says what is known ("≥ 49 in, ≥ 2 used, no count"
rather than "unknown"): the admin's estimates list, the country page, and report emails."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Country
from reports.choices import Cadence
from reports.periods import period_containing
from reports.rendering import report_message
from reports.selectors import report_build
from reports.services import subscription_create
from stock.models import StaleEstimate
from stock.refresh import estimates_refresh_pairs
from tests.factories import WeaponSystemFactory
from transfers.services import expenditure_create, transfer_create

pytestmark = pytest.mark.django_db

HEADLINE = "≥ 49 in, ≥ 2 used, no count"


@pytest.fixture
def storm_shadow_in_ukraine(db):
    storm = WeaponSystemFactory(name="Storm Shadow")
    gb, ua = Country.objects.get(code="GB"), Country.objects.get(code="UA")
    transfer_create(
        donor=gb, recipient=ua, system=storm, quantity_text="at least 49", date=dt.date(2024, 11, 1)
    )
    expenditure_create(
        holder=ua,
        system=storm,
        kind="launched",
        quantity_text="at least 2",
        date=dt.date(2024, 11, 20),
    )
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))
    return ua, storm


def test_the_admin_lists_and_the_country_page_show_the_known_parts(
    editor_client, storm_shadow_in_ukraine
):
    ua, _ = storm_shadow_in_ukraine
    listing = editor_client.get(reverse("admin:stock_stockestimate_changelist"))
    assert HEADLINE in listing.content.decode()
    country = editor_client.get(reverse("admin:inventory_country_change", args=[ua.pk]))
    assert HEADLINE in country.content.decode()


def test_the_report_email_shows_the_known_parts(storm_shadow_in_ukraine):
    subscription = subscription_create(
        email="analyst@example.org",
        cadence=Cadence.DAILY,
        confirmed_at=timezone.now(),
        starts_on=timezone.localdate(),
    )
    period = period_containing(timezone.localdate(), Cadence.DAILY)
    message = report_message(
        report_build(subscription=subscription, period=period), recipient="analyst@example.org"
    )
    assert f"Ukraine, Storm Shadow: no estimate -> {HEADLINE}" in message.body
