"""The subscriber's journey in Chromium, mail on a real SMTP server on loopback (aiosmtpd):
an address is subscribed in the admin, confirms by the emailed link, the report is
previewed, sent and received, and the link in the email unsubscribes."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from aiosmtpd.controller import Controller

from tests.browser.conftest import log_in, shot
from tests.reports.test_reports_smtp import Sink, free_port

pytestmark = pytest.mark.browser


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
    yield sink
    controller.stop()


def _received(sink, count: int):
    deadline = time.monotonic() + 20
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(sink.messages) >= count, f"{len(sink.messages)} message(s) received"
    return sink.messages[count - 1]


def test_subscribe_confirm_preview_receive_unsubscribe(page, live_site, editor_user, smtp):
    from django.utils import timezone

    from inventory.models import Country
    from reports.models import Subscription
    from tests.factories import WeaponSystemFactory
    from tests.reports.test_reports import backdate
    from transfers.services import pledge_create

    url = live_site.url
    pledge_create(
        donor=Country.objects.get(code="GB"),
        recipient=Country.objects.get(code="UA"),
        system=WeaponSystemFactory(name="Storm Shadow"),
        quantity_text="dozens",
        date=dt.date(2024, 11, 1),
        date_precision="month",
    )
    backdate(1)  # entered yesterday: yesterday's daily report has it

    # Subscribe an address, from yesterday on.
    log_in(page, live_site, "editor")
    page.goto(f"{url}/admin/reports/subscription/add/")
    page.fill("#id_email", "analyst@example.org")
    page.select_option("#id_cadence", "daily")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    page.fill("#id_starts_on", yesterday.isoformat())
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    subscription = Subscription.objects.get()

    # The confirmation arrives by SMTP; its link confirms in the browser.
    confirmation = _received(smtp, 1)
    link = re.search(r"(http://\S+/reports/confirm/\S+/)", confirmation.get_content()).group(1)
    assert link.startswith(url)
    page.goto(link)
    page.click("button[type=submit]")
    assert page.inner_text("h1") == "Confirmed"
    subscription.refresh_from_db()
    assert subscription.is_confirmed

    # The preview: the period, its items, when it is sent.
    page.goto(f"{url}/admin/reports/subscription/{subscription.pk}/preview/")
    assert "its period has ended; the next run sends it" in page.inner_text("body")
    assert "Storm Shadow" in page.inner_text("body")
    shot(page, "report-preview")

    # Send it now from the list (administrators send reports: issue 14); it arrives with
    # links to this site.
    from tests.browser.conftest import PASSWORD
    from tests.factories import UserFactory

    administrator = UserFactory(username="administrator", role="administrator")
    administrator.set_password(PASSWORD)
    administrator.save()
    page.context.clear_cookies()
    log_in(page, live_site, "administrator")
    page.goto(f"{url}/admin/reports/subscription/")
    page.check(f"input[name=_selected_action][value='{subscription.pk}']")
    page.select_option("select[name=action]", "send_now")
    page.click("button[name=index]")
    page.locator(".messagelist").wait_for()
    assert "1 report(s) sent" in page.inner_text(".messagelist")
    report = _received(smtp, 2)
    assert (
        "Storm Shadow" in report["Subject"]
        or "Storm Shadow" in report.get_body(("plain",)).get_content()
    )
    unsubscribe = report["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith(f"{url}/reports/unsubscribe/")

    # The email's link unsubscribes, without logging in.
    page.context.clear_cookies()
    page.goto(unsubscribe)
    shot(page, "unsubscribe")
    page.click("button[type=submit]")
    assert page.inner_text("h1") == "Unsubscribed"
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None and not subscription.is_active
