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

# -- stock estimates ------------------------------------------------------------------------
# Reserved for the estimates work (issue 4, "estimates ... with as_of= and the explanation
# as a sub-resource"), built in inventory/ by another engineer. Register its viewsets here:
#   router.register("estimates", StockEstimateViewSet, basename="stockestimate")
# ----------------------------------------------------------------------------------------
