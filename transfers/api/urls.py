"""/api/v1/: the records and their evidence join the catalogue's router (inventory.api.urls),
so the API root lists every endpoint."""

from __future__ import annotations

from inventory.api.history import history_register
from inventory.api.urls import router
from transfers.api import views
from transfers.api.estimates import StockEstimateViewSet
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Source, Transfer

router.register("holdings", views.HoldingViewSet, basename="holding")
router.register("pledges", views.PledgeViewSet, basename="pledge")
router.register("transfers", views.TransferViewSet, basename="transfer")
router.register("expenditures", views.ExpenditureViewSet, basename="expenditure")
router.register("authorizations", views.AuthorizationViewSet, basename="authorization")
router.register("sources", views.SourceViewSet, basename="source")
router.register("citations", views.CitationViewSet, basename="citation")
router.register("estimates", StockEstimateViewSet, basename="stockestimate")

history_register(Holding, Pledge, Transfer, Expenditure, Authorization, Source, Citation)

urlpatterns = router.urls
