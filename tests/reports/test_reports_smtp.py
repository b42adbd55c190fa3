"""Report emails end to end: a real Celery worker (tests/conftest.py) sends to a real SMTP
server on loopback (aiosmtpd), as beat's `reports_dispatch` would trigger it."""

from __future__ import annotations

import datetime as dt
import email
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from reports.choices import DeliveryStatus
from reports.models import ReportDelivery
from reports.services import subscription_create
from reports.tasks import report_send, reports_dispatch
from tests.factories import PledgeFactory, UserFactory, WeaponSystemFactory
from tests.reports.test_reports import backdate, daily_subscriber

pytestmark = pytest.mark.worker
WAIT = 60


class Sink:
    """An SMTP server's handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.STOCKPILE_REPORTS_RETRY_BACKOFF = 0.05
    settings.STOCKPILE_REPORTS_RETRY_BACKOFF_MAX = 0.2
    sink.port = controller.port
    yield sink
    controller.stop()


def wait_for(condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


def drain(smtp, sentinel_email: str) -> None:
    """Wait until the worker has processed everything enqueued before: a report for a new
    subscriber, enqueued last, arrives (one queue, one worker, prefetch 1)."""
    sentinel = daily_subscriber(sentinel_email, send_when_empty=True)
    report_send.delay(sentinel.pk)
    wait_for(lambda: any(m["To"] == sentinel_email for m in smtp.messages))


def test_a_scheduled_run_delivers_one_message_per_due_subscriber_and_a_rerun_none(
    smtp, celery_worker
):
    PledgeFactory(system=WeaponSystemFactory(name="ATACMS"))
    address = daily_subscriber("analyst@example.org")
    user = UserFactory(username="reader", email="reader@example.org")
    member = subscription_create(user=user, cadence="daily", starts_on=address.starts_on)
    subscription_create(  # not due yet: its first week has not ended
        email="weekly@example.org",
        cadence="weekly",
        confirmed_at=timezone.now(),
        starts_on=timezone.localdate(),
    )
    daily_subscriber("paused@example.org", is_active=False)
    backdate()

    reports_dispatch.delay()  # what beat sends
    wait_for(lambda: len(smtp.messages) >= 2)
    wait_for(lambda: ReportDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 2)

    assert sorted(m["To"] for m in smtp.messages) == ["analyst@example.org", "reader@example.org"]
    for message in smtp.messages:
        types = [part.get_content_type() for part in message.walk()]
        assert {"text/plain", "text/html", "image/png"} <= set(types)
        html = message.get_body(("html",)).get_content()
        image = next(p for p in message.walk() if p.get_content_type() == "image/png")
        assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
        assert "ATACMS" in message.get_body(("plain",)).get_content()
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Beat fires again, and a task runs twice: nothing more is sent.
    reports_dispatch.delay()
    report_send.delay(address.pk)
    report_send.delay(member.pk)
    drain(smtp, "sentinel@example.org")
    assert len(smtp.messages) == 3
    assert ReportDelivery.objects.filter(subscription__in=[address, member]).count() == 2


def test_smtp_down_is_retried_recorded_as_failed_and_sent_once_when_back(
    smtp, celery_worker, settings
):
    settings.STOCKPILE_REPORTS_RETRY_MAX = 2
    live_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there: connection refused
    PledgeFactory()
    subscription = daily_subscriber("analyst@example.org")
    backdate()

    reports_dispatch.delay()

    def gave_up():
        delivery = ReportDelivery.objects.filter(subscription=subscription).first()
        return delivery is not None and delivery.attempts == 3 and delivery.status == "failed"

    wait_for(gave_up)
    time.sleep(0.5)  # no further retry comes
    delivery = ReportDelivery.objects.get(subscription=subscription)
    assert delivery.attempts == 3 and delivery.status == DeliveryStatus.FAILED
    assert "Connection" in delivery.error or "refused" in delivery.error.lower()
    assert smtp.messages == []

    settings.EMAIL_PORT = live_port  # SMTP is back
    reports_dispatch.delay()
    wait_for(lambda: len(smtp.messages) == 1)
    wait_for(lambda: ReportDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT)
    delivery.refresh_from_db()
    assert delivery.attempts == 4 and delivery.error == "" and delivery.sent_at is not None

    reports_dispatch.delay()
    drain(smtp, "sentinel@example.org")
    assert [m["To"] for m in smtp.messages] == ["analyst@example.org", "sentinel@example.org"]


def test_the_period_start_is_not_moved_by_a_late_run(smtp, celery_worker):
    """Beat fires late: the period is the one after the last delivered, not today's."""
    PledgeFactory()
    subscription = daily_subscriber(
        "late@example.org", starts_on=timezone.localdate() - dt.timedelta(days=2)
    )
    backdate()

    reports_dispatch.delay()
    wait_for(lambda: ReportDelivery.objects.filter(subscription=subscription).count() == 2)
    wait_for(lambda: not ReportDelivery.objects.exclude(status__in=["sent", "skipped"]).exists())

    starts = list(
        ReportDelivery.objects.filter(subscription=subscription)
        .order_by("period_start")
        .values_list("period_start", "status")
    )
    today = timezone.localdate()
    assert starts == [
        (today - dt.timedelta(days=2), DeliveryStatus.SKIPPED),  # nothing happened that day
        (today - dt.timedelta(days=1), DeliveryStatus.SENT),
    ]
    assert len(smtp.messages) == 1
