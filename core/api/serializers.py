"""Serializer bases: writes through services, and the history rows."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.history import Door


class ServiceModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that leaves validation of the data as a whole to the model
    (full_clean() in the services), and writes through `create_service`/`update_service`."""

    def get_validators(self):
        return []

    def create(self, validated_data):
        actor = validated_data.pop("actor", None)
        return self.create_service(actor=actor, **validated_data)

    def update(self, instance, validated_data):
        actor = validated_data.pop("actor", None)
        return self.update_service(instance, actor=actor, **validated_data)


# -- history ------------------------------------------------------------------------------

CHANGES = {"+": "created", "~": "changed", "-": "deleted"}

#: Fields of a record that are not published: its editors' notes and the id it has in an
#: outside dataset. Anonymous readers (STOCKPILE_API_ANONYMOUS_READ) never see them in a
#: snapshot, nor who made a change (as on the explorer's pages); readers who log in do.
UNPUBLISHED_FIELDS = frozenset({"notes", "external_id"})


def reader_is_public(request) -> bool:
    return request is None or not request.user.is_authenticated


def snapshot_of(row, request) -> dict:
    """A historical row's fields as they were, without the unpublished ones for a public
    (anonymous) reader."""
    hidden = UNPUBLISHED_FIELDS if reader_is_public(request) else frozenset()
    return {
        field.attname: getattr(row, field.attname)
        for field in row.instance_type._meta.concrete_fields
        if field.attname not in hidden
    }


class HistoryRowSerializer(serializers.Serializer):
    """One change of one record: when, who, through which door, and the fields as they were
    after it (before it, for a delete)."""

    history_id = serializers.IntegerField()
    model = serializers.SerializerMethodField()
    object_id = serializers.IntegerField(source="id")
    history_date = serializers.DateTimeField()
    change = serializers.SerializerMethodField()
    actor = serializers.CharField(
        source="actor_name", help_text='Username, frozen as text; "" for anonymous readers.'
    )
    door = serializers.ChoiceField(choices=Door.choices)
    reason = serializers.CharField(source="history_change_reason", allow_null=True)
    snapshot = serializers.SerializerMethodField(help_text="The fields as they were.")

    def get_model(self, row) -> str:
        return row.instance_type._meta.model_name

    @extend_schema_field(serializers.ChoiceField(choices=list(CHANGES.values())))
    def get_change(self, row) -> str:
        return CHANGES[row.history_type]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_snapshot(self, row) -> dict:
        return snapshot_of(row, self.context.get("request"))

    def to_representation(self, row):
        data = super().to_representation(row)
        if reader_is_public(self.context.get("request")):
            data["actor"] = ""  # who edited what is not published
        return data
