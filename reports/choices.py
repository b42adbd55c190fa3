"""Codes stored for the report subscriptions and their deliveries."""

from django.db import models


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (Monday to Sunday)"
    MONTHLY = "monthly", "Monthly (calendar month)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending (claimed by a worker)"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (retried by the next run)"
    SKIPPED = "skipped", "Skipped (nothing to report)"


# A period whose delivery is in one of these states is done: the next run moves on.
DONE_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.SENDING)
# A period in one of these states is (re)claimed by the next run.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
