"""Reports on day one: the dry run says to whom, how many items, the current period so far
and when it is sent; the preview says the same; links follow the site's address; contracts
appear; chart legends stand clear of the axes, labels and title."""

from __future__ import annotations

import calendar
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from inventory.models import Country
from reports import charts
from reports.choices import Cadence
from reports.periods import period_containing
from reports.rendering import report_message
from reports.selectors import OutstandingPledge, report_build
from reports.services import report_deliver, subscription_create
from tests.factories import WeaponSystemFactory
from transfers.services import holding_create

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _subscriber(cadence=Cadence.WEEKLY, **fields):
    return subscription_create(
        email="analyst@example.org",
        cadence=cadence,
        confirmed_at=timezone.now(),
        starts_on=timezone.localdate(),
        **fields,
    )


@pytest.fixture
def contracts(db):
    atacms = WeaponSystemFactory(name="ATACMS")
    for code in ("KR", "PL"):
        holding_create(
            holder=Country.objects.get(code=code),
            supplier=Country.objects.get(code="US"),
            kind="contracted",
            system=atacms,
            quantity_text="unknown",
            date=dt.date(2024, 11, 1),
            date_precision="month",
        )
    return atacms


def test_the_dry_run_on_day_one_shows_the_period_so_far_to_whom_and_when(capsys, contracts):
    subscription = _subscriber()
    call_command("send_reports", "--dry-run", "--now")
    out = capsys.readouterr().out
    start, end = period_containing(timezone.localdate(), Cadence.WEEKLY)
    last = end - dt.timedelta(days=1)
    assert f"subscription {subscription.pk} to analyst@example.org (weekly):" in out
    assert f"subscription {subscription.pk} {start} – {last} so far: 2 items;" in out
    assert f"it will be sent at {end} 00:07 (UTC)" in out
    assert "0 report(s) would be sent now; nothing was written or sent." in out
    assert mail.outbox == []


def test_without_dry_run_nothing_due_still_says_when(capsys, contracts):
    _subscriber(cadence=Cadence.DAILY)
    call_command("send_reports", "--now")
    out = capsys.readouterr().out
    assert out.startswith("No report is due.\n")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert f"so far: 2 items; it will be sent at {tomorrow} 00:07" in out


def test_contracts_appear_in_the_email(contracts):
    subscription = _subscriber()
    period = period_containing(timezone.localdate(), Cadence.WEEKLY)
    message = report_message(
        report_build(subscription=subscription, period=period), recipient="x@example.org"
    )
    assert "Holdings and contracts" in message.body
    assert "South Korea contracted / ordered: ATACMS" in message.body
    assert "Contracted / ordered from United States" in message.body


def test_the_admin_preview_says_which_period_and_when_it_is_sent(admin_client, contracts):
    subscription = _subscriber()
    page = admin_client.get(reverse("admin:reports_subscription_preview", args=[subscription.pk]))
    body = page.content.decode()
    _, end = period_containing(timezone.localdate(), Cadence.WEEKLY)
    assert "the period so far (it is under way). 2 item(s)." in body
    assert f"It will be sent {end} 00:07 (UTC)." in body
    assert "South Korea contracted" in body


def test_links_follow_the_site_address(settings, contracts):
    settings.SITE_URL = "http://127.0.0.1:8765"
    subscription = _subscriber(cadence=Cadence.DAILY, send_when_empty=True)
    subscription.starts_on = timezone.localdate() - dt.timedelta(days=1)
    subscription.save()
    report_deliver(subscription_id=subscription.pk)
    (message,) = mail.outbox
    assert message.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8765/reports/")
    assert "127.0.0.1:8000" not in message.body


def test_the_site_address_defaults_to_the_port_bin_run_serves_on():
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    env.update(PORT="8765", DJANGO_SETTINGS_MODULE="config.settings")
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "http://127.0.0.1:8765"


@pytest.mark.parametrize("systems", [1, 3, 8])
def test_chart_legends_never_overlap(monkeypatch, systems):
    from stock.estimates import Range

    figures = []
    monkeypatch.setattr(charts, "_png", lambda figure: figures.append(figure) or b"")
    outstanding = [
        OutstandingPledge(
            label=f"p{i}",
            status="announced",
            date="2024",
            age_days=1,
            pledged=Range(100 * (i + 1), None),
            delivered=Range(10 * i, 10 * i),
            system_name=f"A system with a rather long name number {i}",
        )
        for i in range(systems)
    ]
    charts.pledged_vs_delivered_chart(outstanding)
    (figure,) = figures
    assert charts.legend_overlaps(figure) == []


def test_the_estimate_chart_legend_stands_clear(monkeypatch):
    from stock.models import EstimatePoint

    figures = []
    monkeypatch.setattr(charts, "_png", lambda figure: figures.append(figure) or b"")
    ua, system = Country.objects.get(code="UA"), WeaponSystemFactory()
    for month in range(1, 13):
        EstimatePoint.objects.create(
            holder=ua,
            system=system,
            as_of=dt.date(2024, month, calendar.monthrange(2024, month)[1]),  # month ends
            on_hand_low=month,
            on_hand_high=2 * month,
        )

    move = SimpleNamespace(
        holder="Ukraine", system=system.name, holder_id=ua.pk, system_id=system.pk
    )
    charts.estimate_history_chart(move)
    (figure,) = figures
    assert charts.legend_overlaps(figure) == []
