"""Who sees the explorer, and how its pages are cached.

- Off by default behind login: a logged-in, active user (any role) reads it; anyone else is
  sent to the login. `STOCKPILE_PUBLIC=true` opens it to anonymous readers.
- Anonymous readers are throttled per client address (`STOCKPILE_EXPLORER_THROTTLE`,
  "N/second|minute|hour", counted in the default cache: Redis in production).
- Pages are the same for every reader (nothing of the reader on them), so one cached copy
  serves everyone, in the default cache for `STOCKPILE_EXPLORER_CACHE_SECONDS`, keyed by the
  full path and the estimates' version (`stock.freshness`): a refresh of the estimates
  invalidates every cached page. Responses carry an ETag and a Last-Modified from that
  version; a conditional request that matches gets a 304 without the page being built.
"""

from __future__ import annotations

import functools
import hashlib
import time

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, parse_http_date_safe, quote_etag

from core.request_guards import client_ip
from stock.freshness import estimates_version

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _rate() -> tuple[int, int]:
    count, _, period = settings.STOCKPILE_EXPLORER_THROTTLE.partition("/")
    return int(count), PERIODS[period]


def throttled(request) -> int:
    """Seconds to wait when this anonymous reader has used up the rate, else 0."""
    limit, period = _rate()
    window = int(time.time() // period)
    key = f"explorer:throttle:{client_ip(request)}:{window}"
    cache.add(key, 0, period + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, period + 1)
        used = 1
    if used > limit:
        return period - int(time.time() % period) or 1
    return 0


def explorer_view(view):
    """Access, throttle, conditional GET and the shared page cache around an explorer view."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            if not settings.STOCKPILE_PUBLIC:
                return redirect_to_login(request.get_full_path(), login_url="admin:login")
            wait = throttled(request)
            if wait:
                response = HttpResponse(
                    "Too many requests: try again shortly.", status=429, content_type="text/plain"
                )
                response["Retry-After"] = str(wait)
                return response
        version = estimates_version()
        path = request.get_full_path()
        digest = hashlib.sha256(f"{version.timestamp()}|{path}".encode()).hexdigest()[:32]
        etag = quote_etag(digest)
        last_modified = int(version.timestamp())
        if _not_modified(request, etag, last_modified):
            response = HttpResponseNotModified()
            _validators(response, etag, last_modified)
            return response
        key = f"explorer:page:{digest}"
        stored = cache.get(key)
        if stored is not None:
            content, content_type, headers = stored
            response = HttpResponse(content, content_type=content_type)
            for name, value in headers.items():
                response[name] = value
            response["X-Explorer-Cache"] = "hit"
        else:
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.streaming:
                headers = {
                    name: response[name] for name in ("Content-Disposition",) if name in response
                }
                cache.set(
                    key,
                    (response.content, response["Content-Type"], headers),
                    settings.STOCKPILE_EXPLORER_CACHE_SECONDS,
                )
            response["X-Explorer-Cache"] = "miss"
        if response.status_code == 200:
            _validators(response, etag, last_modified)
        # The page does not depend on who reads it, but whether it is shown does.
        response["Vary"] = "Cookie"
        response["Cache-Control"] = "public, max-age=0" if settings.STOCKPILE_PUBLIC else "private"
        return response

    return wrapped


def _validators(response, etag: str, last_modified: int) -> None:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)


def _not_modified(request, etag: str, last_modified: int) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match == "*"
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and since >= last_modified
