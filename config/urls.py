from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from core.api.docs import RedocView, SchemaView, SwaggerView

admin.site.site_header = "Stockpile"
admin.site.site_title = "Stockpile admin"
admin.site.index_title = "Records, evidence and estimates"
# The lists need the width (1280 px screens): the home page and the breadcrumbs navigate.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("explore/", include("explorer.urls")),
    path("api/v1/", include("config.api")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

# JSON error bodies under /api/ (core.request_guards), Django's pages elsewhere.
handler404 = "core.request_guards.not_found"
handler500 = "core.request_guards.server_error"
