"""Send the report emails that are due, as beat does (see docs/reports.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reports.models import Subscription
from reports.periods import period_display
from reports.services import (
    next_report,
    report_deliver,
    sendable,
    subscriptions_due,
)


class Command(BaseCommand):
    help = (
        "Send the report emails whose period has ended. By default enqueue one task per due "
        "subscription for the workers (what beat does); --now sends in this process; "
        "--dry-run only says what would be sent, to whom, with how many items, and for each "
        "subscription with nothing due yet its current period so far and when it is sent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Write and send nothing.")
        parser.add_argument(
            "--now", action="store_true", help="Send in this process instead of enqueuing."
        )
        parser.add_argument(
            "--subscriber",
            type=int,
            action="append",
            metavar="ID",
            help="Only this subscription (repeatable).",
        )

    def handle(self, *args, dry_run=False, now=False, subscriber=None, **options):
        if dry_run:
            self.dry_run(subscriber)
            return
        ids = subscriptions_due(ids=subscriber)
        if not ids:
            self.stdout.write("No report is due.")
            self.upcoming(subscriber)
            return
        if not now:
            from reports.tasks import report_send

            for subscription_id in ids:
                report_send.delay(subscription_id)
            self.stdout.write(f"Enqueued {len(ids)} subscription(s): {', '.join(map(str, ids))}.")
            return
        failures = 0
        for subscription_id in ids:
            try:
                outcomes = report_deliver(subscription_id=subscription_id)
            except OSError as exc:
                failures += 1
                self.stderr.write(f"subscription {subscription_id}: failed ({exc}); recorded.")
                continue
            for outcome in outcomes:
                items = f" ({outcome.items} items)" if outcome.items else ""
                self.stdout.write(
                    f"subscription {subscription_id} {period_display(outcome.period)}: "
                    f"{outcome.status}{items}"
                )
        if failures:
            raise CommandError(f"{failures} subscription(s) failed; the next run retries them.")

    def subscriptions(self, ids):
        queryset = Subscription.objects.filter(sendable()).select_related("user").order_by("pk")
        return queryset.filter(pk__in=ids) if ids else queryset

    def dry_run(self, ids) -> None:
        """Each subscription: to whom, its due periods with their item counts, else its
        current period so far and when it will be sent."""
        subscriptions = list(self.subscriptions(ids))
        if not subscriptions:
            self.stdout.write("No active, confirmed subscription.")
            return
        would_send = 0
        for subscription in subscriptions:
            self.stdout.write(self.header(subscription))
            outcomes = report_deliver(subscription_id=subscription.pk, dry_run=True)
            for outcome in outcomes:
                would_send += outcome.status == "would_send"
                self.stdout.write(
                    f"subscription {subscription.pk} {period_display(outcome.period)}: "
                    f"{outcome.status} ({outcome.items} items)"
                )
            if not outcomes:
                self.stdout.write(self.so_far(subscription))
        self.stdout.write(
            f"Dry run: {len(subscriptions)} subscription(s), {would_send} report(s) would be "
            "sent now; nothing was written or sent."
        )

    def upcoming(self, ids) -> None:
        for subscription in self.subscriptions(ids):
            self.stdout.write(self.header(subscription))
            self.stdout.write(self.so_far(subscription))

    @staticmethod
    def header(subscription) -> str:
        recipient = subscription.recipient or "(no address)"
        return f"subscription {subscription.pk} to {recipient} ({subscription.cadence}):"

    @staticmethod
    def so_far(subscription) -> str:
        from reports.selectors import report_build

        upcoming = next_report(subscription)
        report = report_build(subscription=subscription, period=upcoming.period)
        empty = (
            " (an empty period is not sent)"
            if report.is_empty and not subscription.send_when_empty
            else ""
        )
        return (
            f"subscription {subscription.pk} {period_display(upcoming.period)} so far: "
            f"{report.item_count} items; it will be sent at "
            f"{upcoming.sends_at:%Y-%m-%d %H:%M} ({upcoming.sends_at.tzname()}){empty}"
        )
