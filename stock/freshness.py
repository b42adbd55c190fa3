"""When the estimates last changed: a version that readers caching pages built from them
(the public explorer) put in their cache keys, ETags and Last-Modified headers.

The refresh bumps it after its transaction commits; the version lives in the default cache
(Redis in production, shared by every web worker), so one refresh invalidates every cached
page at once. When the cache has lost it (restart, eviction), the next reader starts a new
version: a cache miss, never a stale page."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

VERSION_KEY = "stock:estimates-version"


def estimates_version() -> dt.datetime:
    """The moment the estimates last changed (as far as the cache knows), to the second."""
    stamp = cache.get(VERSION_KEY)
    if stamp is None:
        stamp = timezone.now().replace(microsecond=0).timestamp()
        cache.add(VERSION_KEY, stamp, None)
        stamp = cache.get(VERSION_KEY, stamp)
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC)


def estimates_changed() -> None:
    """Bump the version (now, and later than the previous one even within a second)."""
    previous = cache.get(VERSION_KEY) or 0
    now = timezone.now().replace(microsecond=0).timestamp()
    cache.set(VERSION_KEY, max(now, previous + 1), None)


def estimates_changed_on_commit() -> None:
    transaction.on_commit(estimates_changed)
