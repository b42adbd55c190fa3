from django.urls import path

from explorer import views

app_name = "explorer"

urlpatterns = [
    path("", views.index, name="index"),
    path("search/", views.search, name="search"),
    path("parties/<str:code>/", views.party, name="party"),
    path("parties/<str:code>/changes/", views.party_changes, name="party-changes"),
    path("systems/<int:pk>/", views.system, name="system"),
    path("systems/<str:name>/", views.system_by_name, name="system-by-name"),
    path("flows/<str:donor>/<str:recipient>/", views.flow, name="flow"),
    path("sources/<int:pk>/", views.source, name="source"),
    path("explain/<str:code>/<int:system_id>/", views.explain, name="explain"),
]
