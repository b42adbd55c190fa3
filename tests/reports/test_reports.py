"""Report emails without a worker: content and filters, escaping, periods, exactly-once
bookkeeping, links, the command and the admin preview (mail in Django's locmem outbox)."""

from __future__ import annotations

import base64
import datetime as dt
import email
import json
from email import policy

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from reports.choices import Cadence, DeliveryStatus
from reports.models import ReportDelivery, Subscription
from reports.periods import period_after, period_containing
from reports.rendering import one_line, report_message
from reports.selectors import report_build
from reports.services import (
    delivery_release,
    due_periods,
    report_deliver,
    subscription_create,
    subscriptions_due,
)
from reports.tokens import confirm_token, unsubscribe_token, unsubscribe_token_read
from stock.models import LedgerEntry
from tests.factories import (
    AuthorizationFactory,
    CitationFactory,
    ExpenditureFactory,
    HoldingFactory,
    PledgeFactory,
    SourceFactory,
    TransferFactory,
    UserFactory,
    WeaponSystemFactory,
    state,
)
from transfers.models import Authorization, Citation, Expenditure, Pledge, Source, Transfer

HISTORY_MODELS = (Pledge, Transfer, Expenditure, Authorization, Citation, Source)


def backdate(days: int = 1) -> None:
    """Move every history row and ledger posting `days` back, as if entered then."""
    delta = dt.timedelta(days=days)
    for model in HISTORY_MODELS:
        model.history.model.objects.update(history_date=F("history_date") - delta)
    LedgerEntry.objects.update(posted_at=F("posted_at") - delta)


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


def daily_subscriber(email_address="analyst@example.org", **fields) -> Subscription:
    fields.setdefault("starts_on", yesterday())
    return subscription_create(
        email=email_address, cadence=Cadence.DAILY, confirmed_at=timezone.now(), **fields
    )


@pytest.fixture
def atacms(db):
    family = WeaponSystemFactory(name="ATACMS")
    return family, WeaponSystemFactory(name="ATACMS Block I", parent=family)


def _labels(report) -> set[str]:
    return {item.label for _kind, items in report.change_sections for item in items}


def test_a_subscriber_to_poland_and_atacms_sees_only_those_records(atacms):
    family, variant = atacms
    himars = WeaponSystemFactory(name="HIMARS")
    poland, ukraine, us = state("PL"), state("UA"), state("US")
    kept = [
        PledgeFactory(donor=us, recipient=poland, system=family, notes="kept pledge"),
        TransferFactory(donor=us, recipient=poland, system=variant),  # a variant of the family
        ExpenditureFactory(holder=poland, system=family),
        AuthorizationFactory(grantor=us, holder=poland, system=variant),
    ]
    PledgeFactory(donor=us, recipient=ukraine, system=family)  # another country
    TransferFactory(donor=us, recipient=poland, system=himars)  # another system
    ExpenditureFactory(holder=ukraine, system=variant)  # another country
    subscription = daily_subscriber(countries=[poland], systems=[family])
    backdate()

    report = report_build(subscription=subscription, period=period_containing(yesterday(), "daily"))

    assert _labels(report) == {str(record) for record in kept}
    assert {item.label for item in report.outstanding} == {str(kept[0])}
    assert all("Poland" in line.label and "ATACMS" in line.label for line in report.unsourced)
    assert report.unsourced_total == 4


def test_the_minimum_grade_keeps_only_records_cited_that_well(atacms):
    family, _variant = atacms
    poland, us = state("PL"), state("US")
    good = PledgeFactory(donor=us, recipient=poland, system=family, quantity_text="good")
    weak = PledgeFactory(donor=us, recipient=poland, system=family, quantity_text="weak")
    unsourced = PledgeFactory(donor=us, recipient=poland, system=family)
    CitationFactory(
        pledge=good, transfer=None, source=SourceFactory(reliability="B"), credibility=2
    )
    CitationFactory(
        pledge=weak, transfer=None, source=SourceFactory(reliability="C"), credibility=2
    )
    CitationFactory(
        pledge=weak, transfer=None, source=SourceFactory(reliability="A"), credibility=4
    )
    subscription = daily_subscriber(
        countries=[poland], systems=[family], min_reliability="B", min_credibility=2
    )
    backdate()

    report = report_build(subscription=subscription, period=period_containing(yesterday(), "daily"))

    assert _labels(report) == {str(good)}
    assert [line.label for line in report.unsourced] == [str(unsourced)]
    item = report.changes["pledge"][0]
    assert [(c.grade, c.title) for c in item.citations] == [
        ("B2", good.citations.get().source.title)
    ]


def test_changed_records_show_what_changed_and_removed_ones_are_listed(atacms):
    family, _variant = atacms
    pledge = PledgeFactory(system=family, status="announced")
    gone = TransferFactory(system=family, notes="to be removed")
    backdate(3)  # created three days ago
    pledge.status = "partially_delivered"
    pledge.save()
    gone.delete()
    backdate(1)  # changed and removed yesterday
    subscription = daily_subscriber()

    report = report_build(subscription=subscription, period=period_containing(yesterday(), "daily"))

    (changed,) = report.changes["pledge"]
    assert changed.change == "changed"
    assert ("status", "Announced", "Partially delivered") in changed.fields
    (removed,) = report.changes["transfer"]
    assert removed.change == "removed" and removed.notes == "to be removed"


def test_script_and_header_injection_in_record_text_are_harmless(db):
    evil = "<script>alert('x')</script>\r\nBcc: victim@example.org\r\nSubject: pwned"
    system = WeaponSystemFactory(name="Evil\nBcc: victim@example.org <script>x</script>")
    pledge = PledgeFactory(system=system, notes=evil)
    CitationFactory(
        pledge=pledge, transfer=None, excerpt=evil, source=SourceFactory(title=evil[:200])
    )
    subscription = daily_subscriber()
    backdate()

    report_deliver(subscription_id=subscription.pk)

    (message,) = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    raw = message.message().as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed.get_all("Subject") == [parsed["Subject"]]
    assert "victim@example.org" not in (parsed["To"] + str(parsed.get("Cc", "")))
    html = message.alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    text = message.body
    # Record text never starts a line of its own: every line of it is indented or bulleted.
    assert not any(line.startswith(("Bcc:", "Subject:", "<")) for line in text.splitlines())
    assert "<script>alert('x')</script> Bcc: victim@example.org Subject: pwned" in text


def test_one_line_collapses_every_line_break_and_control_character():
    assert one_line("a\r\nb\u2028c\x00d\te  f") == "a b c d e f"
    assert one_line("x" * 10, 5) == "xxxx…"


def test_the_message_has_text_html_inline_chart_and_unsubscribe_headers(db):
    PledgeFactory(system=WeaponSystemFactory(name="Storm Shadow"))
    subscription = daily_subscriber()
    backdate()

    report_deliver(subscription_id=subscription.pk)

    (message,) = mail.outbox
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/related"
    types = [part.get_content_type() for part in parsed.walk()]
    assert {"text/plain", "text/html", "image/png"} <= set(types)
    image = next(part for part in parsed.walk() if part.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    html = parsed.get_body(("html",)).get_content()
    assert f'src="cid:{cid}"' in html
    assert 'style="' in html and "<style" not in html  # CSS inlined
    assert image.get_content().startswith(b"\x89PNG")
    # The token carries its signing time, so it is read back rather than signed again.
    prefix, suffix = "<http://127.0.0.1:8000/reports/unsubscribe/", "/>"
    header = parsed["List-Unsubscribe"].strip()
    assert header.startswith(prefix) and header.endswith(suffix)
    assert unsubscribe_token_read(header[len(prefix) : -len(suffix)]) == subscription.pk
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivery = ReportDelivery.objects.get()
    assert parsed["Message-ID"] == delivery.message_id
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1


def test_a_period_is_sent_once_however_often_the_run_repeats(db):
    PledgeFactory()
    subscription = daily_subscriber()
    backdate()

    report_deliver(subscription_id=subscription.pk)
    report_deliver(subscription_id=subscription.pk)

    assert len(mail.outbox) == 1
    assert subscriptions_due() == []


def test_a_delivery_left_sending_by_a_dead_worker_is_not_sent_again_until_released(db):
    PledgeFactory()
    subscription = daily_subscriber()
    backdate()
    period = due_periods(subscription)[0]
    delivery = ReportDelivery.objects.create(
        subscription=subscription,
        recipient=subscription.recipient,
        cadence=subscription.cadence,
        period_start=period[0],
        period_end=period[1],
        status=DeliveryStatus.SENDING,
        attempts=1,
    )

    report_deliver(subscription_id=subscription.pk)
    assert mail.outbox == []  # at most once

    assert delivery_release(delivery=delivery)
    report_deliver(subscription_id=subscription.pk)
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2


def test_an_empty_period_is_skipped_unless_the_subscriber_wants_it_always(db):
    quiet = daily_subscriber("quiet@example.org")
    always = daily_subscriber("always@example.org", send_when_empty=True)

    for subscription in (quiet, always):
        report_deliver(subscription_id=subscription.pk)

    assert [m.to for m in mail.outbox] == [["always@example.org"]]
    assert quiet.deliveries.get().status == DeliveryStatus.SKIPPED
    assert "Nothing changed in this period." in mail.outbox[0].body


def test_periods_follow_the_last_delivered_period_not_the_clock(db, settings):
    settings.STOCKPILE_REPORTS_CATCH_UP = 2
    today = timezone.localdate()
    subscription = daily_subscriber(starts_on=today - dt.timedelta(days=4), send_when_empty=True)
    assert due_periods(subscription) == [
        (today - dt.timedelta(days=n), today - dt.timedelta(days=n - 1)) for n in (4, 3, 2, 1)
    ]

    outcomes = report_deliver(subscription_id=subscription.pk)  # beat was down for days

    assert [o.status for o in outcomes] == ["skipped", "skipped", "sent", "sent"]
    assert len(mail.outbox) == 2
    assert due_periods(subscription) == []
    assert due_periods(subscription, today=today + dt.timedelta(days=1)) == [
        (today, today + dt.timedelta(days=1))
    ]


def test_period_arithmetic():
    assert period_containing(dt.date(2024, 11, 20), "weekly") == (
        dt.date(2024, 11, 18),
        dt.date(2024, 11, 25),
    )
    assert period_containing(dt.date(2024, 2, 10), "monthly") == (
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 1),
    )
    assert period_after(dt.date(2024, 11, 20), "monthly") == (
        dt.date(2024, 11, 20),
        dt.date(2024, 12, 1),
    )


def test_paused_unconfirmed_and_unsubscribed_subscribers_get_nothing(db):
    daily_subscriber("paused@example.org", is_active=False)
    subscription_create(email="new@example.org", cadence="daily", starts_on=yesterday())
    gone = daily_subscriber("gone@example.org")
    gone.unsubscribed_at = timezone.now()
    gone.save()
    user = UserFactory(username="reader", email="reader@example.org")
    mine = subscription_create(
        user=user, cadence="daily", starts_on=yesterday(), send_when_empty=True
    )

    assert subscriptions_due() == [mine.pk]


def test_an_address_subscriber_gets_a_confirmation_link_that_confirms(
    db, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_create(email="New@Example.org", cadence="weekly")
    (message,) = mail.outbox
    assert message.to == ["new@example.org"]
    url = reverse("reports:confirm", args=[confirm_token(subscription)])
    assert url in message.body

    assert client.get(url).status_code == 200
    assert Subscription.objects.get().confirmed_at is None  # GET only asks
    assert client.post(url).status_code == 200
    first = Subscription.objects.get().confirmed_at
    assert first is not None
    assert client.post(url).status_code == 200  # idempotent
    assert Subscription.objects.get().confirmed_at == first
    assert client.post(url[:-3] + "x/").status_code == 400


def _with_payload(token: str, payload: dict) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return encoded.decode().rstrip("=") + token[token.index(":") :]


def test_unsubscribe_works_without_login_is_idempotent_and_cannot_be_forged(db, client):
    subscription = daily_subscriber()
    other = daily_subscriber("other@example.org")
    token = unsubscribe_token(subscription)
    url = reverse("reports:unsubscribe", args=[token])

    assert client.get(url).status_code == 200
    assert Subscription.objects.get(pk=subscription.pk).is_active  # GET (a link scanner) only asks

    forged = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature changed
        _with_payload(token, {"s": other.pk}),  # payload changed, signature kept
        confirm_token(other),  # another kind of signed link
        "garbage",
    ]
    for bad in forged:
        response = client.post(reverse("reports:unsubscribe", args=[bad]))
        assert response.status_code == 400
    assert Subscription.objects.filter(is_active=True).count() == 2

    response = client.post(url)  # RFC 8058 one-click: POST, no login, no CSRF token
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.unsubscribed_at is not None
    first = subscription.unsubscribed_at
    assert client.post(url).status_code == 200
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at == first
    assert Subscription.objects.get(pk=other.pk).is_active


def test_send_reports_dry_run_writes_nothing_and_now_sends(db, capsys):
    PledgeFactory()
    subscription = daily_subscriber()
    backdate()

    call_command("send_reports", "--dry-run")
    assert "would_send" in capsys.readouterr().out
    assert mail.outbox == [] and not ReportDelivery.objects.exists()

    call_command("send_reports", "--now", "--subscriber", str(subscription.pk))
    assert "sent" in capsys.readouterr().out
    assert len(mail.outbox) == 1
    call_command("send_reports", "--now")
    assert "No report is due." in capsys.readouterr().out


def test_the_admin_previews_the_next_report_of_any_subscriber(admin_client):
    PledgeFactory(notes="<script>alert(1)</script>")
    subscription = daily_subscriber()

    response = admin_client.get(
        reverse("admin:reports_subscription_preview", args=[subscription.pk])
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Pledges still outstanding" in body and "data:image/png;base64," in body
    assert "<script>" not in body
    assert "default-src 'none'" in response["Content-Security-Policy"]
    change = admin_client.get(reverse("admin:reports_subscription_change", args=[subscription.pk]))
    assert change.status_code == 200


def test_the_admin_send_now_action_sends_due_reports(admin_client):
    PledgeFactory()
    subscription = daily_subscriber()
    backdate()

    admin_client.post(
        reverse("admin:reports_subscription_changelist"),
        {"action": "send_now", "_selected_action": [subscription.pk]},
    )

    assert len(mail.outbox) == 1


def test_report_message_renders_estimate_moves(db):
    subscription = daily_subscriber()
    report = report_build(subscription=subscription, period=period_containing(yesterday(), "daily"))
    message = report_message(report, recipient="x@example.org")
    assert "No estimate moved." in message.body


@pytest.mark.parametrize("role", ["editor", "viewer", "administrator"])
def test_subscription_and_delivery_pages_render_for_every_role(db, client, role):
    subscription = daily_subscriber(send_when_empty=True)
    report_deliver(subscription_id=subscription.pk)
    client.force_login(UserFactory(username=role, role=role))
    pages = (
        ("subscription", subscription.pk),
        ("reportdelivery", subscription.deliveries.get().pk),
    )
    for name, pk in pages:
        assert client.get(reverse(f"admin:reports_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:reports_{name}_change", args=[pk])).status_code == 200
    preview = reverse("admin:reports_subscription_preview", args=[subscription.pk])
    assert client.get(preview).status_code == 200


def test_movers_list_the_estimates_that_moved_in_the_period_biggest_first(db):
    """ "Estimates that moved most": the on-hand estimate as the ledger stood before the
    period against the current one; unmoved pairs are left out, bigger moves come first."""
    from stock.models import StaleEstimate
    from stock.refresh import estimates_refresh_pairs

    gun, tank, quiet = (WeaponSystemFactory(name=n) for n in ("Gun", "Tank", "Quiet"))
    ukraine, uk = state("UA"), state("GB")
    HoldingFactory(
        holder=ukraine,
        system=gun,
        quantity_low=10,
        quantity_high=10,
        quantity_text="10",
        date=dt.date(2022, 1, 1),
    )
    TransferFactory(
        donor=uk,
        recipient=ukraine,
        system=quiet,
        quantity_low=4,
        quantity_high=4,
        quantity_text="4",
    )
    backdate(3)  # known before the period
    TransferFactory(
        donor=uk, recipient=ukraine, system=gun, quantity_low=5, quantity_high=5, quantity_text="5"
    )
    TransferFactory(
        donor=uk,
        recipient=ukraine,
        system=tank,
        quantity_low=120,
        quantity_high=120,
        quantity_text="120",
    )
    backdate(1)  # entered yesterday: the period
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))
    subscription = daily_subscriber(countries=[ukraine])

    report = report_build(subscription=subscription, period=period_containing(yesterday(), "daily"))

    moves = [(m.holder, m.system, m.old_display, m.new_display) for m in report.movers]
    assert moves == [
        ("Ukraine", "Tank", "no estimate", "≥ 120 on hand, 120 in, no count"),
        ("Ukraine", "Gun", "10", "15"),
    ]
