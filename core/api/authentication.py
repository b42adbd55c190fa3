"""Token authentication that counts wrong tokens per client address.

DRF checks throttles after authentication, so a wrong token was a 401 that no throttle ever
counted: an address could try tokens without limit. Here each wrong token counts against
the address in the shared cache; past `STOCKPILE_API_TOKEN_FAILURE_LIMIT` within
`STOCKPILE_API_TOKEN_FAILURE_WINDOW` seconds, every token request from it is a 429 (with
Retry-After) before the token is even looked up — the right token included.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from core.request_guards import client_ip

KEY = "stockpile:token-failures:{address}"


def _key(request) -> str:
    return KEY.format(address=client_ip(request))


class CountedTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # not a token request: nothing to count
        key = _key(request)
        window = settings.STOCKPILE_API_TOKEN_FAILURE_WINDOW
        failures = cache.get(key) or {"count": 0, "since": time.time()}
        if failures["count"] >= settings.STOCKPILE_API_TOKEN_FAILURE_LIMIT:
            wait = max(1, int(failures["since"] + window - time.time()))
            raise Throttled(
                wait=wait,
                detail=f"Too many wrong tokens from this address; retry in {wait} s.",
            )
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            failures["count"] += 1
            remaining = max(1, int(failures["since"] + window - time.time()))
            cache.set(key, failures, timeout=remaining)
            raise
