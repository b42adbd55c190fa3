"""OpenAPI documentation of the party and system reference fields (both directions)."""

from __future__ import annotations

from core.api.schema import RefFieldExtension
from inventory.api.serializers import CountryRefSerializer, SystemRefSerializer


class CountryRefFieldExtension(RefFieldExtension):
    target_class = "inventory.api.serializers.CountryRefField"
    ref_serializer = CountryRefSerializer
    request_description = "A party: its code (UA, NATO), an alias (UAE) or its id."
    request_example = "UA"  # the ISO states exist from the first migration


class SystemRefFieldExtension(RefFieldExtension):
    target_class = "inventory.api.serializers.SystemRefField"
    ref_serializer = SystemRefSerializer
    request_description = "A weapon system: its name, an alias (MGM-140) or its id."
