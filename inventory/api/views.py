"""Countries (and other parties) and weapon systems."""

from __future__ import annotations

from django.db.models import Prefetch

from core.api.viewsets import HistoryMixin, ServiceViewSet
from core.services import tracked_delete
from inventory.api.filters import CountryFilterSet, WeaponSystemFilterSet
from inventory.api.serializers import CountrySerializer, WeaponSystemSerializer
from inventory.models import Country, CountryAlias, WeaponSystem
from inventory.search import parties_ranked, systems_ranked


class CountryViewSet(HistoryMixin, ServiceViewSet):
    queryset = Country.objects.prefetch_related(
        Prefetch("aliases", queryset=CountryAlias.objects.order_by("alias"))
    )
    serializer_class = CountrySerializer
    filterset_class = CountryFilterSet
    search_fields = ["name", "official_name", "code", "aliases__alias"]
    search_ranked = staticmethod(parties_ranked)  # ?search=UK: the United Kingdom first
    ordering_fields = ["name", "code", "kind", "id"]

    def delete_service(self, instance, *, actor):
        tracked_delete(instance, actor=actor)


class WeaponSystemViewSet(HistoryMixin, ServiceViewSet):
    queryset = WeaponSystem.objects.select_related("parent", "origin").prefetch_related("aliases")
    serializer_class = WeaponSystemSerializer
    filterset_class = WeaponSystemFilterSet
    search_fields = ["name", "aliases__alias", "manufacturer", "description"]
    search_ranked = staticmethod(systems_ranked)
    ordering_fields = ["name", "range_km", "id"]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request is not None and self.request.method in ("GET", "HEAD"):
            # One query for the whole tree, so `family` costs nothing per row.
            context["system_tree"] = {
                pk: (parent, name)
                for pk, parent, name in WeaponSystem.objects.values_list("pk", "parent_id", "name")
            }
        return context

    def delete_service(self, instance, *, actor):
        tracked_delete(instance, actor=actor)
