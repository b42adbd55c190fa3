"""Enqueueing from a web request, bounded: a broker outage must not stall the site.

A write marks estimates stale in its transaction and enqueues their refresh after the
commit. Celery's own publish, with the broker down, waits for connection retries (about 6 s
per enqueue, several per write). Here:

- one enqueue per commit: the pairs of every `stock.ledger.refresh_after_commit` in one transaction are
  sent by a single callback (`RefreshBatch`);
- a short connect timeout (`STOCKPILE_ENQUEUE_TIMEOUT`, 0.5 s) and no retry, on a publishing
  connection of its own (the worker keeps Celery's patient reconnection);
- a circuit breaker: after a failure, enqueues are skipped for
  `STOCKPILE_ENQUEUE_BREAKER_SECONDS` (30 s), then one is tried again.

Nothing is lost: the stale marks are in the database, and the sweeper (`estimates_sweep`,
every minute) refreshes what was not enqueued.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_local = threading.local()
_breaker_lock = threading.Lock()
_breaker = {"open_until": 0.0}


def breaker_reset() -> None:
    """Close the breaker and drop this thread's publishing connection (tests, a new broker)."""
    with _breaker_lock:
        _breaker["open_until"] = 0.0
    _drop_connection()


def breaker_is_open() -> bool:
    return time.monotonic() < _breaker["open_until"]


def _drop_connection() -> None:
    connection = getattr(_local, "connection", None)
    _local.connection = None
    if connection is not None:
        with contextlib.suppress(Exception):  # already broken: nothing to release
            connection.release()


def _publishing_connection(app):
    url = app.conf.broker_write_url or app.conf.broker_url
    connection = getattr(_local, "connection", None)
    if connection is None or getattr(_local, "broker_url", None) != url:
        _drop_connection()
        timeout = settings.STOCKPILE_ENQUEUE_TIMEOUT
        options = {
            **(app.conf.broker_transport_options or {}),
            "max_retries": 0,
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        }
        connection = app.connection_for_write(connect_timeout=timeout, transport_options=options)
        _local.connection = connection
        _local.broker_url = url
    return connection


def enqueue(task, *, kwargs: dict) -> bool:
    """Send one task, bounded; False (logged) when the broker is unreachable or the breaker
    is open. Never raises to the writer."""
    if breaker_is_open():
        logger.debug("enqueue of %s skipped: the broker breaker is open", task.name)
        return False
    try:
        task.apply_async(kwargs=kwargs, retry=False, connection=_publishing_connection(task.app))
    except Exception:
        with _breaker_lock:
            _breaker["open_until"] = time.monotonic() + settings.STOCKPILE_ENQUEUE_BREAKER_SECONDS
        _drop_connection()
        logger.warning(
            "Could not enqueue %s; not trying again for %s s (the sweeper covers it)",
            task.name,
            settings.STOCKPILE_ENQUEUE_BREAKER_SECONDS,
            exc_info=True,
        )
        return False
    return True
