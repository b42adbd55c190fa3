"""Reports never stop for one bad record (issue 14, part 4): text from data is not parsed as
mathtext, and a chart that fails is dropped, not the delivery."""

from __future__ import annotations

import email
from email import policy

import pytest
from django.core import mail
from django.urls import reverse

from reports.choices import DeliveryStatus
from reports.models import ReportDelivery
from reports.services import report_deliver
from tests.factories import PledgeFactory, WeaponSystemFactory
from tests.reports.test_reports import backdate, daily_subscriber

pytestmark = pytest.mark.django_db

BAD_NAMES = ["Bad $^$ missile", r"$\frac{1}{0}$ rocket", "a $ b $$ c", r"\$ _ ^ %"]


def _image_parts(message):
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    return [part for part in parsed.walk() if part.get_content_type() == "image/png"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_system_name_with_dollars_is_drawn_as_text_in_preview_and_delivery(admin_client, name):
    PledgeFactory(system=WeaponSystemFactory(name=name))
    subscription = daily_subscriber()
    backdate()

    preview = admin_client.get(
        reverse("admin:reports_subscription_preview", args=[subscription.pk])
    )
    assert preview.status_code == 200
    assert "data:image/png;base64," in preview.content.decode()

    report_deliver(subscription_id=subscription.pk)
    (message,) = mail.outbox
    assert len(_image_parts(message)) == 1  # the chart is there, drawn
    assert ReportDelivery.objects.get().status == DeliveryStatus.SENT


def test_a_chart_that_fails_is_dropped_and_the_report_still_goes(admin_client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("a chart library bug")

    monkeypatch.setattr("reports.rendering.pledged_vs_delivered_chart", broken)
    PledgeFactory(system=WeaponSystemFactory(name="Storm Shadow"))
    subscription = daily_subscriber()
    backdate()

    preview = admin_client.get(
        reverse("admin:reports_subscription_preview", args=[subscription.pk])
    )
    assert preview.status_code == 200 and "Storm Shadow" in preview.content.decode()

    report_deliver(subscription_id=subscription.pk)
    (message,) = mail.outbox
    assert _image_parts(message) == [] and "Storm Shadow" in message.body
    assert ReportDelivery.objects.get().status == DeliveryStatus.SENT
    assert "chart" in caplog.text and "a chart library bug" in caplog.text
