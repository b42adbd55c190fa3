"""Celery tasks that keep the estimates fresh. They take ids, call a service, and are safe
to run twice (each recomputes from the ledger; the last writer leaves the right numbers).

- `estimates_refresh(pairs)`: enqueued after a commit that changed the ledger;
- `estimates_sweep()`: on beat, refreshes pairs still marked stale (the broker was down at
  commit, or a worker died);
- `estimates_rebuild()`: on beat, nightly: re-posts the ledger from the records, matches
  every report into movements again, recomputes every estimate and rewrites the monthly
  series.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import DatabaseError, OperationalError
from django.utils import timezone

from core.history import Door, history_door

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (OperationalError, DatabaseError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(name="inventory.estimates_refresh", **RETRY)
def estimates_refresh(pairs: list[list[int]]) -> dict:
    """Recompute the estimates of these holder × system pairs. Malformed pairs are skipped
    and logged; pairs whose holder, system or records are gone lose their estimate."""
    from stock.refresh import estimates_refresh_pairs

    clean: list[tuple[int, int]] = []
    for pair in pairs or []:
        try:
            holder_id, system_id = (int(value) for value in pair)
        except (TypeError, ValueError):
            logger.warning("estimates_refresh: ignoring malformed pair %r", pair)
            continue
        clean.append((holder_id, system_id))
    with history_door(Door.TASK):
        return estimates_refresh_pairs(clean)


@shared_task(name="inventory.estimates_sweep", **RETRY)
def estimates_sweep(older_than_seconds: int = 30, limit: int = 5000) -> dict:
    """Refresh pairs marked stale more than `older_than_seconds` ago (their own refresh
    should have run by then)."""
    from stock.models import StaleEstimate
    from stock.refresh import estimates_refresh_pairs

    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    pairs = list(
        StaleEstimate.objects.filter(marked_at__lte=cutoff)
        .order_by("marked_at")
        .values_list("holder_id", "system_id")[:limit]
    )
    if not pairs:
        return {"pairs": 0, "estimates": 0}
    logger.info("estimates_sweep: refreshing %d stale pair(s)", len(pairs))
    with history_door(Door.TASK):
        return estimates_refresh_pairs(pairs)


@shared_task(name="inventory.estimates_rebuild", **RETRY)
def estimates_rebuild() -> dict:
    """Re-post the ledger from the records, then recompute everything."""
    from stock.ledger import ledger_rebuild
    from stock.matching import movements_match_all
    from stock.refresh import estimates_refresh_all
    from stock.series import series_rebuild_all

    with history_door(Door.TASK):
        ledger = ledger_rebuild()
        movements = movements_match_all()
        estimates = estimates_refresh_all(series=False)  # every series, next line
        points = series_rebuild_all()
    return {**ledger, **movements, **estimates, "points": points}


@shared_task(name="inventory.estimates_refresh_all", **RETRY)
def estimates_refresh_all() -> dict:
    """Recompute every estimate from the ledger as it stands (no re-posting)."""
    from stock.refresh import estimates_refresh_all as refresh_all

    with history_door(Door.TASK):
        return refresh_all()
