"""The v1 router. The catalogue and history register here; `transfers.api.urls` adds the
records and evidence to the same router, so /api/v1/ lists everything in one place."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from inventory.api.history import HistoryViewSet
from inventory.api.views import CountryViewSet, WeaponSystemViewSet

router = DefaultRouter(trailing_slash=True)
router.include_format_suffixes = False  # ?format=csv, not .csv suffixes
router.register("countries", CountryViewSet, basename="country")
router.register("systems", WeaponSystemViewSet, basename="weaponsystem")
router.register("history", HistoryViewSet, basename="history")

# The stock estimates register from transfers.api.urls (their explanation cites records).
