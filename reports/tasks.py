"""Celery tasks of the report emails. They take ids and are safe to run twice (the claim
in `reports.services` sends each period at most once).

- `reports_dispatch()`: on beat (CELERY_BEAT_SCHEDULE "reports-dispatch", editable in the
  admin under Periodic tasks): enqueues one `report_send` per subscription with a due period;
- `report_send(subscription_id)`: delivers that subscription's due periods. SMTP errors
  (any OSError: refused connection, timeout, SMTP error replies) are retried by Celery's
  autoretry with exponential backoff from STOCKPILE_REPORTS_RETRY_BACKOFF seconds, up to
  STOCKPILE_REPORTS_RETRY_MAX retries; each failure is recorded on the delivery, and the
  next dispatch tries a failed period again.
"""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError

from core.history import Door, history_door

logger = logging.getLogger(__name__)


class SettingsBackoffTask(Task):
    """Retry delay and count read from the settings when a retry happens (not frozen at
    import), so that deployments and tests can change them."""

    abstract = True

    @property
    def max_retries(self) -> int:  # read by Task.retry()
        return settings.STOCKPILE_REPORTS_RETRY_MAX

    @max_retries.setter
    def max_retries(self, value) -> None:  # Celery may assign it; the settings win
        pass

    @property
    def default_retry_delay(self) -> float:  # autoretry passes no countdown: this is it
        base = float(settings.STOCKPILE_REPORTS_RETRY_BACKOFF)
        retries = self.request.retries if self.request else 0
        delay = min(base * (2**retries), float(settings.STOCKPILE_REPORTS_RETRY_BACKOFF_MAX))
        return delay * random.uniform(0.8, 1.0)  # jitter: retries of many tasks spread out

    @default_retry_delay.setter
    def default_retry_delay(self, value) -> None:
        pass


@shared_task(
    name="transfers.report_send",
    base=SettingsBackoffTask,
    bind=True,
    autoretry_for=(OSError, DatabaseError),
    retry_backoff=False,  # the delay comes from SettingsBackoffTask.default_retry_delay
    acks_late=True,
)
def report_send(self, subscription_id: int) -> dict:
    from reports.services import report_deliver

    with history_door(Door.TASK):
        outcomes = report_deliver(subscription_id=int(subscription_id))
    return {"subscription": subscription_id, "outcomes": [o.status for o in outcomes]}


@shared_task(name="transfers.reports_dispatch", acks_late=True)
def reports_dispatch() -> dict:
    """Enqueue one `report_send` per subscription that has a due period."""
    from reports.services import subscriptions_due

    ids = subscriptions_due()
    for subscription_id in ids:
        report_send.delay(subscription_id)
    if ids:
        logger.info("reports_dispatch: %d subscription(s) due", len(ids))
    return {"enqueued": len(ids)}
