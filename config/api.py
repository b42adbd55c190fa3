"""/api/v1/: the one router. Every app's viewsets register here, so the API root lists every
endpoint, and no app has to import a higher one to join it."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from core.api.changes import ChangesViewSet
from core.api.history import HistoryViewSet, history_register
from inventory.api.views import CountryViewSet, WeaponSystemViewSet
from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias
from stock.api.movements import ConflictViewSet, MovementViewSet
from stock.api.views import StockEstimateViewSet
from transfers.api import views
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Source, Transfer

router = DefaultRouter(trailing_slash=True)
router.include_format_suffixes = False  # ?format=csv, not .csv suffixes
router.register("countries", CountryViewSet, basename="country")
router.register("systems", WeaponSystemViewSet, basename="weaponsystem")
router.register("history", HistoryViewSet, basename="history")
router.register("changes", ChangesViewSet, basename="change")
router.register("holdings", views.HoldingViewSet, basename="holding")
router.register("pledges", views.PledgeViewSet, basename="pledge")
router.register("transfers", views.TransferViewSet, basename="transfer")
router.register("expenditures", views.ExpenditureViewSet, basename="expenditure")
router.register("authorizations", views.AuthorizationViewSet, basename="authorization")
router.register("sources", views.SourceViewSet, basename="source")
router.register("citations", views.CitationViewSet, basename="citation")
router.register("estimates", StockEstimateViewSet, basename="stockestimate")
router.register("movements", MovementViewSet, basename="movement")
router.register("conflicts", ConflictViewSet, basename="conflict")

history_register(Country, CountryAlias, WeaponSystem, WeaponSystemAlias)
history_register(Holding, Pledge, Transfer, Expenditure, Authorization, Source, Citation)

urlpatterns = router.urls
