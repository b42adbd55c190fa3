"""Send the report emails that are due, as beat does (see docs/reports.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reports.periods import period_display
from reports.services import report_deliver, subscriptions_due


class Command(BaseCommand):
    help = (
        "Send the report emails whose period has ended. By default enqueue one task per due "
        "subscription for the workers (what beat does); --now sends in this process; "
        "--dry-run only says what would be sent."
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
        ids = subscriptions_due(ids=subscriber)
        if not ids:
            self.stdout.write("No report is due.")
            return
        if not dry_run and not now:
            from reports.tasks import report_send

            for subscription_id in ids:
                report_send.delay(subscription_id)
            self.stdout.write(f"Enqueued {len(ids)} subscription(s): {', '.join(map(str, ids))}.")
            return
        failures = 0
        for subscription_id in ids:
            try:
                outcomes = report_deliver(subscription_id=subscription_id, dry_run=dry_run)
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
