"""Every write for the report emails: subscriptions, confirmations, unsubscribes, and the
delivery of each period's report exactly once.

Delivery of one period (`report_deliver`):

1. the period's `ReportDelivery` row is created (unique per subscription and period, so two
   runs share one row);
2. an empty report (nothing changed, no estimate moved) is recorded **skipped** unless the
   subscriber asked for "send even when empty";
3. the row is **claimed** by a conditional UPDATE (`pending`/`failed` → `sending`, with a
   claim token, the attempt counted and the Message-ID fixed) that commits before SMTP is
   touched: of two runs, exactly one claims it;
4. the message is sent; then the row becomes **sent** (only by the run holding the claim);
   an SMTP error makes it **failed** with the error, and the exception goes up so that the
   Celery task retries with backoff; a failed row is claimed again by the next run.

A worker that dies between the SMTP server's acceptance and step 4 leaves the row
`sending`. Such rows are never sent again automatically: **at most once**. We chose that
over at-least-once because a duplicate digest in a subscriber's inbox is worse than one
missing (and the admin shows the row, its Message-ID to look up in the mail server's log,
and an action to send it again). See docs/reports.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone

from core.services import Actor
from reports.choices import DONE_STATUSES, OPEN_STATUSES, DeliveryStatus
from reports.models import ReportDelivery, Subscription
from reports.periods import Period, period_after, period_containing

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    period: Period
    status: str  # sent, skipped, busy (claimed elsewhere), done (already), would_send, would_skip
    delivery_id: int | None = None
    items: int = 0


# -- subscriptions ---------------------------------------------------------------------------


def may_subscribe_others(actor: Actor) -> bool:
    """Administrators (who manage users) may invite other users; everyone else subscribes
    only themselves (an address subscriber confirms by the mailed link)."""
    return actor is None or actor.has_perm("auth.change_user")


def consent_refusal(user, actor: Actor) -> str | None:
    """Why the actor may not subscribe this user (None when allowed: themselves, an
    administrator's invitation, a script with no actor)."""
    if user is None or actor is None or user.pk == getattr(actor, "pk", None):
        return None
    if may_subscribe_others(actor):
        return None
    return (
        f"You can subscribe only yourself, not {user}; an administrator may invite other "
        "users, or enter an address to send it a confirmation link."
    )


def subscription_check_consent(*, subscription: Subscription, actor: Actor = None) -> None:
    """ValidationError naming the user field when the actor may not subscribe that user."""
    refusal = consent_refusal(subscription.user if subscription.user_id else None, actor)
    if refusal:
        raise ValidationError({"user": refusal})


def subscription_save(*, subscription: Subscription, actor: Actor = None) -> Subscription:
    """Validate and save. Consent: a user subscribing themselves (or a script) is confirmed
    at once; an address, a user invited by an administrator, and a subscription whose
    address or user changed are unconfirmed until the mailed link is followed (it is sent
    after the commit)."""
    is_new = subscription.pk is None
    if subscription.starts_on is None:
        subscription.starts_on = timezone.localdate()
    subscription.full_clean()
    subscription_check_consent(subscription=subscription, actor=actor)
    before = None if is_new else Subscription.objects.filter(pk=subscription.pk).first()
    recipient_changed = before is not None and (
        before.user_id != subscription.user_id or before.email != subscription.email
    )
    needs_link = False
    if is_new or recipient_changed:
        own = subscription.user_id is not None and (
            actor is None or getattr(actor, "pk", None) == subscription.user_id
        )
        if own:
            subscription.confirmed_at = subscription.confirmed_at or timezone.now()
        elif recipient_changed or subscription.confirmed_at is None:
            subscription.confirmed_at = None
            subscription.confirmation_sent_at = None
            needs_link = True
    with transaction.atomic():
        subscription.save()
        if needs_link:
            pk = subscription.pk
            transaction.on_commit(lambda: subscription_send_confirmation(subscription_id=pk))
    return subscription


def subscription_create(*, countries=(), systems=(), actor: Actor = None, **fields) -> Subscription:
    subscription = Subscription(**fields)
    with transaction.atomic():
        subscription_save(subscription=subscription, actor=actor)
        subscription.countries.set(countries)
        subscription.systems.set(systems)
    return subscription


# A confirmation link is mailed again to one address at most this often (seconds).
CONFIRMATION_RESEND_AFTER = 3600


def subscription_send_confirmation(*, subscription_id: int, again: bool = False) -> bool:
    """Mail the confirmation link to an address subscriber not yet confirmed. `again`: an
    operator's resend, refused while the last mail is younger than
    `CONFIRMATION_RESEND_AFTER` (so nobody can flood an address)."""
    from reports.rendering import one_line
    from reports.tokens import confirm_url

    now = timezone.now()
    pending = Subscription.objects.filter(pk=subscription_id, confirmed_at__isnull=True).filter(
        Q(user__isnull=False) | ~Q(email="")
    )
    if again:
        pending = pending.filter(
            Q(confirmation_sent_at__isnull=True)
            | Q(confirmation_sent_at__lt=now - dt.timedelta(seconds=CONFIRMATION_RESEND_AFTER))
        )
    # Claim the send with one conditional UPDATE, so two clicks mail once.
    if not pending.update(confirmation_sent_at=now):
        return False
    subscription = Subscription.objects.get(pk=subscription_id)
    body = render_to_string(
        "reports/confirm_email.txt",
        {
            "email": subscription.recipient,
            "cadence": subscription.get_cadence_display().split(" ")[0].lower(),
            "confirm_url": confirm_url(subscription),
            "days": settings.STOCKPILE_REPORTS_CONFIRM_MAX_AGE // 86400,
        },
    )
    send_mail(
        one_line("Confirm your Stockpile report subscription"),
        body,
        settings.DEFAULT_FROM_EMAIL,
        [subscription.recipient],
    )
    return True


def subscription_confirm(*, subscription_id: int, email: str) -> Subscription | None:
    """Confirm an address (idempotent). None when the subscription is gone or its address
    is no longer the one the link was made for."""
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None or subscription.recipient != email:
        return None
    Subscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    subscription.refresh_from_db()
    return subscription


def subscription_unsubscribe(*, subscription_id: int) -> Subscription | None:
    """Stop the reports (idempotent: a second call changes nothing). None when the
    subscription no longer exists."""
    updated = Subscription.objects.filter(pk=subscription_id, unsubscribed_at__isnull=True).update(
        is_active=False, unsubscribed_at=timezone.now(), updated_at=timezone.now()
    )
    if updated:
        logger.info("reports: subscription %s unsubscribed", subscription_id)
    return Subscription.objects.filter(pk=subscription_id).first()


# -- which periods are due -----------------------------------------------------------------


def sendable() -> Q:
    """Subscriptions that get reports: active, not unsubscribed, confirmed."""
    return Q(is_active=True, unsubscribed_at__isnull=True, confirmed_at__isnull=False) & (
        Q(user__isnull=True) | Q(user__is_active=True)
    )


def due_periods(subscription: Subscription, *, today: dt.date | None = None) -> list[Period]:
    """The periods to work on, oldest first: those whose delivery is open (pending or
    failed), then every period that has ended since the last delivered one (or since the
    one containing `starts_on`). Computed from the deliveries, never from "now" alone."""
    today = today or timezone.localdate()
    rows = list(
        subscription.deliveries.values_list("period_start", "period_end", "status").order_by(
            "period_start"
        )
    )
    done_ends = [end for _start, end, status in rows if status in DONE_STATUSES]
    periods = [(start, end) for start, end, status in rows if status in OPEN_STATUSES]
    if done_ends:
        period = period_after(max(done_ends), subscription.cadence)
    else:
        period = period_containing(subscription.starts_on, subscription.cadence)
    known = {start for start, _end, _status in rows}
    while period[1] <= today:
        if period[0] not in known:
            periods.append(period)
        period = period_after(period[1], subscription.cadence)
    return sorted(periods)


def subscriptions_due(*, today: dt.date | None = None, ids=None) -> list[int]:
    """Ids of the sendable subscriptions with at least one due period (two queries)."""
    today = today or timezone.localdate()
    queryset = Subscription.objects.filter(sendable()).annotate(
        done_end=Max("deliveries__period_end", filter=Q(deliveries__status__in=DONE_STATUSES)),
        has_open=Exists(
            ReportDelivery.objects.filter(subscription=OuterRef("pk"), status__in=OPEN_STATUSES)
        ),
    )
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    due = []
    for subscription in queryset.only("id", "cadence", "starts_on"):
        if subscription.has_open:
            due.append(subscription.pk)
            continue
        if subscription.done_end is not None:
            period = period_after(subscription.done_end, subscription.cadence)
        else:
            period = period_containing(subscription.starts_on, subscription.cadence)
        if period[1] <= today:
            due.append(subscription.pk)
    return due


# -- delivering a period -------------------------------------------------------------------


def _delivery_for(subscription: Subscription, period: Period) -> ReportDelivery:
    defaults = {
        "recipient": subscription.recipient,
        "cadence": subscription.cadence,
        "period_end": period[1],
    }
    try:
        with transaction.atomic():
            delivery, _ = ReportDelivery.objects.get_or_create(
                subscription=subscription, period_start=period[0], defaults=defaults
            )
    except IntegrityError:  # another run created it between our read and our insert
        delivery = ReportDelivery.objects.get(subscription=subscription, period_start=period[0])
    return delivery


def _close_open(delivery: ReportDelivery, status: str, **fields) -> bool:
    return bool(
        ReportDelivery.objects.filter(pk=delivery.pk, status__in=OPEN_STATUSES).update(
            status=status, updated_at=timezone.now(), **fields
        )
    )


def report_deliver(
    *, subscription_id: int, dry_run: bool = False, today: dt.date | None = None
) -> list[Outcome]:
    """Deliver every due period of one subscription, oldest first. An SMTP error is
    recorded on the period's row and raised (the caller retries); later periods wait."""
    from reports.rendering import new_message_id, report_message
    from reports.selectors import report_build

    subscription = (
        Subscription.objects.filter(sendable(), pk=subscription_id).select_related("user").first()
    )
    if subscription is None:
        return []
    periods = due_periods(subscription, today=today)
    catch_up = settings.STOCKPILE_REPORTS_CATCH_UP
    outcomes: list[Outcome] = []
    for index, period in enumerate(periods):
        missed = index < len(periods) - catch_up
        if dry_run:
            report = None if missed else report_build(subscription=subscription, period=period)
            empty = missed or (report.is_empty and not subscription.send_when_empty)
            outcomes.append(
                Outcome(
                    period,
                    "would_skip" if empty else "would_send",
                    items=report.item_count if report else 0,
                )
            )
            continue
        delivery = _delivery_for(subscription, period)
        if delivery.status not in OPEN_STATUSES:
            outcomes.append(Outcome(period, "done", delivery.pk))
            continue
        if missed:
            _close_open(
                delivery,
                DeliveryStatus.SKIPPED,
                error=f"Not sent: more than {catch_up} periods behind when the run came.",
            )
            outcomes.append(Outcome(period, "skipped", delivery.pk))
            continue
        report = report_build(subscription=subscription, period=period)
        if report.is_empty and not subscription.send_when_empty:
            _close_open(delivery, DeliveryStatus.SKIPPED, error="", item_count=0)
            outcomes.append(Outcome(period, "skipped", delivery.pk))
            continue
        outcomes.append(_claim_and_send(delivery, report, new_message_id, report_message))
    return outcomes


def _claim_and_send(delivery, report, new_message_id, report_message) -> Outcome:
    period = report.period
    token = uuid.uuid4().hex
    message_id = new_message_id()
    recipient = report.subscription.recipient
    with transaction.atomic():
        claimed = ReportDelivery.objects.filter(pk=delivery.pk, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.SENDING,
            claim=token,
            claimed_at=timezone.now(),
            attempts=F("attempts") + 1,
            message_id=message_id,
            recipient=recipient,
            item_count=report.item_count,
            error="",
            updated_at=timezone.now(),
        )
    if not claimed:  # another run holds it, or finished it
        return Outcome(period, "busy", delivery.pk)
    try:
        report_message(report, recipient=recipient, message_id=message_id).send()
    except Exception as exc:
        ReportDelivery.objects.filter(pk=delivery.pk, claim=token).update(
            status=DeliveryStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            updated_at=timezone.now(),
        )
        logger.warning("reports: delivery %s failed: %s", delivery.pk, exc)
        raise
    ReportDelivery.objects.filter(pk=delivery.pk, claim=token).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), updated_at=timezone.now()
    )
    logger.info("reports: delivery %s sent to %s (%s)", delivery.pk, recipient, message_id)
    return Outcome(period, "sent", delivery.pk, report.item_count)


def delivery_release(*, delivery: ReportDelivery) -> bool:
    """Make a delivery left `sending` (its worker died) or `skipped` sendable again: the
    next run sends it. An operator's decision, after checking the mail server's log for
    its Message-ID."""
    return bool(
        ReportDelivery.objects.filter(
            pk=delivery.pk, status__in=[DeliveryStatus.SENDING, DeliveryStatus.SKIPPED]
        ).update(
            status=DeliveryStatus.FAILED,
            claim="",
            error="Released by an operator to be sent again.",
            updated_at=timezone.now(),
        )
    )
