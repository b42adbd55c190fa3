"""Serializers of the catalogue and the references to it that every record uses. Writes go
through `inventory.services`."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import ServiceModelSerializer
from inventory import services
from inventory.choices import AliasKind, PartyKind
from inventory.models import Country, WeaponSystem, WeaponSystemAlias
from inventory.selectors import country_resolve, weapon_system_resolve


class CountryRefSerializer(serializers.Serializer):
    """A party as records show it."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class SystemRefSerializer(serializers.Serializer):
    """A weapon system as records show it."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class _RefField(serializers.RelatedField):
    """Reads as a small object; writes as an id, a code/name/alias, or the object read."""

    resolve = staticmethod(lambda text: None)
    kind = "object"

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = data.get("id", data.get("code", data.get("name")))
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        found = None
        if isinstance(data, int) or (
            isinstance(data, str) and data.strip().isascii() and data.strip().isdigit()
        ):
            found = self.get_queryset().filter(pk=int(data)).first()
        elif isinstance(data, str):
            found = self.resolve(data)
        if found is None:
            self.fail("unknown", value=data)
        return found


class CountryRefField(_RefField):
    default_error_messages = {
        "unknown": "No party is known as {value!r}: use an ISO 3166 code (UA), a party code "
        "(NATO), an alias (UAE) or an id.",
        "incorrect_type": "Expected a party code or id, got {data_type}.",
    }
    resolve = staticmethod(country_resolve)
    row_fields = ("id", "code", "name")  # what a list page reads (core.api.rows)

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Country.objects.all())
        super().__init__(**kwargs)

    def to_representation(self, value):
        return {"id": value.pk, "code": value.code, "name": value.name}


class SystemRefField(_RefField):
    default_error_messages = {
        "unknown": "No weapon system is known as {value!r}: use an id, a name or an alias.",
        "incorrect_type": "Expected a weapon system id or name, got {data_type}.",
    }
    resolve = staticmethod(weapon_system_resolve)
    row_fields = ("id", "name")

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", WeaponSystem.objects.all())
        super().__init__(**kwargs)

    def to_representation(self, value):
        return {"id": value.pk, "name": value.name}


# -- countries ----------------------------------------------------------------------------


class AliasListField(serializers.ListField):
    """Aliases read as a list of strings (from the prefetched related rows)."""

    def to_representation(self, data):
        return [alias.alias for alias in data.all()]


class CountrySerializer(ServiceModelSerializer):
    aliases = AliasListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Other names and codes. On update, new aliases are added; none is removed.",
    )

    class Meta:
        model = Country
        fields = ["id", "code", "iso_alpha3", "name", "official_name", "kind", "notes", "aliases"]

    def create_service(self, *, actor, aliases=(), kind=PartyKind.STATE, **fields):
        return services.country_create(actor=actor, aliases=aliases, kind=kind, **fields)

    def update_service(self, instance, *, actor, aliases=(), **fields):
        with transaction.atomic():
            country = services.country_update(country=instance, actor=actor, **fields)
            known = {alias.alias_normalized for alias in country.aliases.all()}
            for alias in aliases:
                if _normalized(alias) not in known:
                    services.country_alias_add(country=country, alias=alias, actor=actor)
        return country


def _normalized(text: str) -> str:
    from inventory.models import normalize_alias

    return normalize_alias(text)


# -- weapon systems -----------------------------------------------------------------------


class SystemAliasSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=AliasKind.choices, default=AliasKind.NAME)

    class Meta:
        model = WeaponSystemAlias
        fields = ["alias", "kind"]


class WeaponSystemSerializer(ServiceModelSerializer):
    parent = SystemRefField(
        required=False, allow_null=True, help_text="The family this system is a variant of."
    )
    family = serializers.SerializerMethodField(help_text="The root of the family tree.")
    origin = CountryRefField(required=False, allow_null=True)
    aliases = SystemAliasSerializer(
        many=True,
        required=False,
        help_text="Designations and other names. On update, new aliases are added; none is removed.",
    )

    class Meta:
        model = WeaponSystem
        fields = [
            "id",
            "name",
            "parent",
            "family",
            "unroca_category",
            "sipri_category",
            "description",
            "manufacturer",
            "origin",
            "range_km",
            "counting_unit",
            "notes",
            "aliases",
        ]
        extra_kwargs = {"range_km": {"coerce_to_string": False}}

    @extend_schema_field(SystemRefSerializer)
    def get_family(self, system) -> dict:
        """Walks the family tree in the map the view loads once per request."""
        tree = self.context.get("system_tree")
        if tree is None:
            root = system.family
            return {"id": root.pk, "name": root.name}
        node = system.pk
        while tree.get(node, (None, ""))[0] is not None:
            node = tree[node][0]
        return {"id": node, "name": tree.get(node, (None, system.name))[1]}

    def create_service(self, *, actor, aliases=(), **fields):
        pairs = [(alias["alias"], alias.get("kind", AliasKind.NAME)) for alias in aliases]
        return services.weapon_system_create(actor=actor, aliases=pairs, **fields)

    def update_service(self, instance, *, actor, aliases=(), **fields):
        with transaction.atomic():
            system = services.weapon_system_update(system=instance, actor=actor, **fields)
            known = {alias.alias_normalized for alias in system.aliases.all()}
            for alias in aliases:
                if _normalized(alias["alias"]) not in known:
                    services.weapon_system_alias_add(
                        system=system,
                        alias=alias["alias"],
                        kind=alias.get("kind", AliasKind.NAME),
                        actor=actor,
                    )
        return system
