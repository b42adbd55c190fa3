"""Per-user throttles; rates come from settings (STOCKPILE_API_THROTTLE_* variables).

`anon` and `user` count every request (DRF's AnonRateThrottle and UserRateThrottle);
`write` counts only writes, per user, so an import script cannot starve readers.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import UserRateThrottle


class WriteRateThrottle(UserRateThrottle):
    scope = "write"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
