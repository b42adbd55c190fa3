from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Stockpile"
admin.site.site_title = "Stockpile admin"
admin.site.index_title = "Records, evidence and estimates"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
