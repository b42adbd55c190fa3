"""Serializers of the records and their evidence. Every write goes through
`transfers.services`; a record may be created with its citations in one request, each
citing a source by id or by its fields (matched by canonical URL, or created)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.errors import validation_detail
from core.api.serializers import ServiceModelSerializer
from inventory.api.serializers import CountryRefField, SystemRefField
from transfers import services
from transfers.ledger import ledger_posted_once
from transfers.models import (
    CITED_FIELDS,
    Authorization,
    Citation,
    Expenditure,
    Holding,
    PartyRole,
    Pledge,
    Policy,
    Source,
    SystemFact,
    Transfer,
)
from transfers.selectors import policies_bearing_on, source_find

# What a citation can support, by its `record_type`.
RECORD_MODELS = {
    "holding": Holding,
    "pledge": Pledge,
    "transfer": Transfer,
    "expenditure": Expenditure,
    "authorization": Authorization,
    "policy": Policy,
    "party_role": PartyRole,
    "system_fact": SystemFact,
}

# What a caller may set (services.SOURCE_FIELDS, the URL first), plus what Stockpile derives.
SOURCE_FIELDS = [
    "id",
    "url",
    "url_canonical",
    *services.SOURCE_FIELDS[1:],
    "created_at",
    "updated_at",
]


# -- sources --------------------------------------------------------------------------------


class SourceSerializer(ServiceModelSerializer):
    citation_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Source
        fields = [*SOURCE_FIELDS, "citation_count"]
        read_only_fields = ["url_canonical", "created_at", "updated_at"]

    def create_service(self, *, actor, url="", title, **fields):
        return services.source_create(url=url, title=title, actor=actor, **fields)

    def update_service(self, instance, *, actor, **fields):
        return services.source_update(source=instance, actor=actor, **fields)


class CitedSourceSerializer(serializers.ModelSerializer):
    """The source of a citation. In a request, its fields: an existing source with the same
    canonical URL (or, without a URL, the same title) is used, else one is created."""

    class Meta:
        model = Source
        fields = SOURCE_FIELDS
        read_only_fields = ["url_canonical", "created_at", "updated_at"]
        extra_kwargs = {"title": {"required": False}}

    represents_as_fields = True  # to_representation is a shortcut (core.api.rows)

    def get_validators(self):
        return []

    def to_representation(self, instance):
        return source_as_dict(instance)


# -- citations ------------------------------------------------------------------------------


_DATETIME = serializers.DateTimeField()


def _iso(value):
    return None if value is None else _DATETIME.to_representation(value)


def source_as_dict(source: Source) -> dict:
    """The read representation of a source, built directly (the hot path of every list)."""
    data = {name: getattr(source, name) for name in SOURCE_FIELDS}
    for name in ("published_at", "retrieved_at", "created_at", "updated_at"):
        data[name] = _iso(data[name])
    return data


class CitationSerializer(serializers.ModelSerializer):
    """A citation as embedded in a record. To cite in a request: `source_id`, or `source`
    with the source's fields. In an update of the record, items with an `id` are the
    citations it has (left as they are) and items without one are added."""

    id = serializers.IntegerField(required=False)
    source = CitedSourceSerializer(required=False)
    source_id = serializers.IntegerField(
        write_only=True, required=False, help_text="Cite an existing source by its id."
    )
    grade = serializers.CharField(read_only=True, help_text="Admiralty grade, e.g. B2.")
    represents_as_fields = True  # to_representation is a shortcut (core.api.rows)

    class Meta:
        model = Citation
        fields = [
            "id",
            "source",
            "source_id",
            "excerpt",
            "locator",
            "stance",
            "attribution",
            "reliability",
            "credibility",
            "grade",
        ]

    def get_validators(self):
        return []

    def to_representation(self, instance):
        if type(self) is not CitationSerializer:
            return super().to_representation(instance)
        return {
            "id": instance.pk,
            "source": source_as_dict(instance.source),
            "excerpt": instance.excerpt,
            "locator": instance.locator,
            "stance": instance.stance,
            "attribution": instance.attribution,
            "reliability": instance.reliability,
            "credibility": instance.credibility,
            "grade": instance.grade,
        }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("id") is not None and self.parent is not None:
            return attrs  # an existing citation of the record being updated
        spec = attrs.pop("source", None)
        source_id = attrs.pop("source_id", None)
        if spec is not None and source_id is not None:
            raise serializers.ValidationError(
                {"source_id": ["Give source_id or source, not both."]}
            )
        if source_id is not None:
            source = Source.objects.filter(pk=source_id).first()
            if source is None:
                raise serializers.ValidationError({"source_id": [f"No source has id {source_id}."]})
            attrs["source"] = source
        elif spec is not None:
            attrs["source"] = self._source_for(spec)
        elif self.instance is None or not self.partial:
            raise serializers.ValidationError(
                {"source": ["Cite a source: give source_id, or source with its url and title."]}
            )
        return attrs

    @staticmethod
    def _source_for(spec: dict) -> Source | dict:
        url = spec.get("url", "")
        existing = source_find(url=url, title=spec.get("title", ""))
        if existing is not None:
            return existing
        if not spec.get("title"):
            raise serializers.ValidationError(
                {
                    "source": {
                        "title": [
                            f"{url or 'This source'} is not a known source: a new "
                            "source needs a title."
                        ]
                    }
                }
            )
        return dict(spec)


def cited_record(citation: Citation) -> tuple[str | None, int | None]:
    for field in CITED_FIELDS:
        record_id = getattr(citation, f"{field}_id")
        if record_id is not None:
            return field, record_id
    return None, None


class RecordTypeField(serializers.ChoiceField):
    def get_attribute(self, instance):
        return cited_record(instance)[0]


class RecordIdField(serializers.IntegerField):
    def get_attribute(self, instance):
        return cited_record(instance)[1]


class CitationDetailSerializer(CitationSerializer):
    """A citation on its own (/api/v1/citations/): it names the record it supports."""

    id = serializers.IntegerField(read_only=True)
    record_type = RecordTypeField(choices=CITED_FIELDS)
    record_id = RecordIdField(min_value=1)

    class Meta(CitationSerializer.Meta):
        fields = [*CitationSerializer.Meta.fields, "record_type", "record_id", "created_at"]
        read_only_fields = ["created_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        record_type, record_id = attrs.pop("record_type", None), attrs.pop("record_id", None)
        if self.instance is not None:
            current = cited_record(self.instance)
            if (record_type or current[0], record_id or current[1]) != current:
                raise serializers.ValidationError(
                    {"record_id": ["A citation cannot move to another record; cite it anew."]}
                )
            return attrs
        record = RECORD_MODELS[record_type].objects.filter(pk=record_id).first()
        if record is None:
            raise serializers.ValidationError(
                {"record_id": [f"No {record_type} has id {record_id}."]}
            )
        attrs["record"] = record
        return attrs

    def create(self, validated_data):
        actor = validated_data.pop("actor", None)
        return services.citation_create(actor=actor, **validated_data)

    def update(self, instance, validated_data):
        actor = validated_data.pop("actor", None)
        validated_data.pop("id", None)
        source = validated_data.pop("source", None)
        with transaction.atomic():
            if isinstance(source, dict):
                source, _ = services.source_get_or_create(actor=actor, **source)
            if source is not None:
                validated_data["source"] = source
            return services.citation_update(citation=instance, actor=actor, **validated_data)


# -- records --------------------------------------------------------------------------------

COMMON_FIELDS = ["id", "system"]
QUANTITY_FIELDS = ["quantity_low", "quantity_high", "quantity_text", "quantity_display"]
DATE_FIELDS = ["date", "date_precision", "date_end", "date_display"]
TAIL_FIELDS = ["notes", "external_id", "unsourced", "citations", "created_at", "updated_at"]
# Citations one request may add to a record (docs/api.md): each is validated and graded,
# so a bounded list keeps one request within the worker's time.
MAX_CITATIONS_PER_REQUEST = 100


class RecordSerializer(ServiceModelSerializer):
    system = SystemRefField()
    quantity_display = serializers.CharField(read_only=True, help_text='"10–20", "≥20", "unknown"')
    date_display = serializers.CharField(read_only=True)
    unsourced = serializers.SerializerMethodField(help_text="True when no citation supports it.")
    citations = CitationSerializer(
        many=True,
        required=False,
        max_length=MAX_CITATIONS_PER_REQUEST,
        error_messages={
            "max_length": "At most {max_length} citations per request; "
            "add the others in further requests."
        },
    )

    class Meta:
        read_only_fields = ["created_at", "updated_at"]

    def get_unsourced(self, record) -> bool:
        sourced = getattr(record, "is_sourced", None)
        return not (record.citations.exists() if sourced is None else sourced)

    def create_service(self, *, actor, citations=(), **fields):
        with ledger_posted_once():  # the record and its citations: one ledger post
            record = services.record_create(model=self.Meta.model, actor=actor, **fields)
            self._cite(record, citations, actor)
        return record

    def update_service(self, instance, *, actor, citations=(), **fields):
        with ledger_posted_once():
            record = services.record_update(record=instance, actor=actor, **fields)
            self._cite(record, citations, actor)
        return record

    def _cite(self, record, citations, actor) -> None:
        """Add the new citations; name the bad ones by their place in the list."""
        existing = set(record.citations.values_list("pk", flat=True)) if record.pk else set()
        errors: list[dict] = [{} for _ in citations]
        for index, spec in enumerate(citations):
            spec = dict(spec)
            citation_id = spec.pop("id", None)
            if citation_id is not None:
                if citation_id not in existing:
                    errors[index] = {
                        "id": [f"Citation {citation_id} does not support this record."]
                    }
                continue
            try:
                services.citation_create(record=record, actor=actor, **spec)
            except DjangoValidationError as exc:
                errors[index] = validation_detail(exc)
        if any(errors):
            raise serializers.ValidationError({"citations": errors})


class HoldingSerializer(RecordSerializer):
    holder = CountryRefField()
    supplier = CountryRefField(required=False, allow_null=True)

    class Meta(RecordSerializer.Meta):
        model = Holding
        fields = [
            *COMMON_FIELDS,
            "holder",
            "kind",
            "supplier",
            *QUANTITY_FIELDS,
            *DATE_FIELDS,
            *TAIL_FIELDS,
        ]


class RoleBriefSerializer(serializers.ModelSerializer):
    """A party's role as a pledge or transfer shows it; the role with its citations is at
    /api/v1/party-roles/{id}/."""

    party = CountryRefField(read_only=True, queryset=None)

    class Meta:
        model = PartyRole
        fields = ["id", "party", "role"]
        read_only_fields = fields


class PolicyBriefSerializer(serializers.ModelSerializer):
    """A policy as the pledges it bears on show it; in full at /api/v1/policies/{id}/."""

    party = CountryRefField(read_only=True, queryset=None)
    system = SystemRefField(read_only=True, queryset=None)
    recipient = CountryRefField(read_only=True, queryset=None)
    date_display = serializers.CharField(read_only=True)

    class Meta:
        model = Policy
        fields = ["id", "party", "kind", "system", "recipient", "statement", "date_display"]
        read_only_fields = fields


class PledgeSerializer(RecordSerializer):
    donor = CountryRefField(
        required=False, allow_null=True, help_text="null when the donor is undisclosed."
    )
    recipient = CountryRefField()
    roles = RoleBriefSerializer(
        many=True,
        read_only=True,
        help_text="Other parties of the pledge: who arranges, finances, consents to the "
        "re-export, passes it on, or first supplied the system (write at /party-roles/).",
    )
    policies = serializers.SerializerMethodField(
        help_text="Policies that bear on the pledge: stated about its system (or family) and "
        "its recipient or any recipient."
    )

    @extend_schema_field(PolicyBriefSerializer(many=True))
    def get_policies(self, pledge):
        view = self.context.get("view")
        if view is not None and getattr(view, "action", None) == "list":
            return None  # the list fills the page's policies at once (PledgeViewSet.list)
        found = policies_bearing_on([pledge], known_at=self.context.get("known_at"))
        found = found.get(pledge.pk, [])
        return PolicyBriefSerializer(found, many=True).data

    class Meta(RecordSerializer.Meta):
        model = Pledge
        fields = [
            *COMMON_FIELDS,
            "donor",
            "recipient",
            "status",
            *QUANTITY_FIELDS,
            *DATE_FIELDS,
            "roles",
            "policies",
            *TAIL_FIELDS,
        ]


class TransferSerializer(RecordSerializer):
    donor = CountryRefField()
    recipient = CountryRefField()
    pledge = serializers.PrimaryKeyRelatedField(
        queryset=Pledge.objects.all(),
        required=False,
        allow_null=True,
        help_text="The id of the pledge this delivery fulfils.",
    )
    roles = RoleBriefSerializer(
        many=True,
        read_only=True,
        help_text="Other parties of the transfer: who arranged, financed, consented to the "
        "re-export, passed it on, or first supplied the system (write at /party-roles/).",
    )

    class Meta(RecordSerializer.Meta):
        model = Transfer
        fields = [
            *COMMON_FIELDS,
            "donor",
            "recipient",
            "basis",
            "pledge",
            "condition",
            *QUANTITY_FIELDS,
            *DATE_FIELDS,
            "roles",
            *TAIL_FIELDS,
        ]


class ExpenditureSerializer(RecordSerializer):
    holder = CountryRefField()

    class Meta(RecordSerializer.Meta):
        model = Expenditure
        fields = [
            *COMMON_FIELDS,
            "holder",
            "kind",
            "location",
            *QUANTITY_FIELDS,
            *DATE_FIELDS,
            *TAIL_FIELDS,
        ]


class AuthorizationSerializer(RecordSerializer):
    grantor = CountryRefField()
    holder = CountryRefField()

    class Meta(RecordSerializer.Meta):
        model = Authorization
        fields = [
            *COMMON_FIELDS,
            "grantor",
            "holder",
            "kind",
            "scope",
            *DATE_FIELDS,
            "valid_until",
            *TAIL_FIELDS,
        ]


class PolicySerializer(RecordSerializer):
    party = CountryRefField(help_text="The party that states the policy.")
    recipient = CountryRefField(
        required=False, allow_null=True, help_text="null: about any recipient."
    )

    class Meta(RecordSerializer.Meta):
        model = Policy
        fields = [
            *COMMON_FIELDS,
            "include_variants",
            "party",
            "kind",
            "recipient",
            "statement",
            *DATE_FIELDS,
            "valid_until",
            *TAIL_FIELDS,
        ]


class CitedClaimSerializer(ServiceModelSerializer):
    """A party role or a system fact: cited like a record (its `citations`, `unsourced`)."""

    unsourced = serializers.SerializerMethodField(help_text="True when no citation supports it.")
    citations = CitationSerializer(
        many=True,
        required=False,
        max_length=MAX_CITATIONS_PER_REQUEST,
        error_messages={
            "max_length": RecordSerializer._declared_fields["citations"].error_messages[
                "max_length"
            ]
        },
    )

    class Meta:
        read_only_fields = ["created_at", "updated_at"]

    def get_unsourced(self, claim) -> bool:
        citations = claim.citations  # a list on the list pages' rows (core.api.rows)
        return not (citations if isinstance(citations, list) else citations.all())

    _cite = RecordSerializer._cite


class PartyRoleSerializer(CitedClaimSerializer):
    party = CountryRefField()
    pledge = serializers.PrimaryKeyRelatedField(
        queryset=Pledge.objects.all(), required=False, allow_null=True
    )
    transfer = serializers.PrimaryKeyRelatedField(
        queryset=Transfer.objects.all(), required=False, allow_null=True
    )

    class Meta(CitedClaimSerializer.Meta):
        model = PartyRole
        fields = [
            "id",
            "pledge",
            "transfer",
            "party",
            "role",
            "notes",
            "unsourced",
            "citations",
            "created_at",
            "updated_at",
        ]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None:
            given = [name for name in ("pledge", "transfer") if attrs.get(name) is not None]
            if len(given) != 1:
                raise serializers.ValidationError(
                    {
                        "pledge": [
                            "Give the pledge or the transfer the role belongs to, exactly one "
                            f"(got {len(given)}: {', '.join(given) or 'none'})."
                        ]
                    }
                )
        elif any(
            name in attrs and attrs[name] != getattr(self.instance, name)
            for name in ("pledge", "transfer")
        ):
            raise serializers.ValidationError(
                {"pledge": ["A role cannot move to another movement; name it anew."]}
            )
        return attrs

    def create_service(self, *, actor, citations=(), pledge=None, transfer=None, **fields):
        with transaction.atomic():
            role = services.party_role_create(movement=pledge or transfer, actor=actor, **fields)
            self._cite(role, citations, actor)
        return role

    def update_service(self, instance, *, actor, citations=(), **fields):
        fields.pop("pledge", None)
        fields.pop("transfer", None)
        with transaction.atomic():
            for name, value in fields.items():
                setattr(instance, name, value)
            role = services.party_role_save(role=instance, actor=actor)
            self._cite(role, citations, actor)
        return role


class SystemFactSerializer(CitedClaimSerializer):
    system = SystemRefField()
    origin = CountryRefField(required=False, allow_null=True)
    range_km = serializers.DecimalField(max_digits=8, decimal_places=1, read_only=True)
    value_display = serializers.CharField(read_only=True)

    class Meta(CitedClaimSerializer.Meta):
        model = SystemFact
        fields = [
            "id",
            "system",
            "kind",
            "manufacturer",
            "origin",
            "range_value",
            "range_unit",
            "range_km",
            "counting_unit",
            "wording",
            "value_display",
            "notes",
            "unsourced",
            "citations",
            "created_at",
            "updated_at",
        ]

    def create_service(self, *, actor, citations=(), system, kind, **fields):
        with transaction.atomic():
            fact = services.system_fact_create(system=system, kind=kind, actor=actor, **fields)
            self._cite(fact, citations, actor)
        return fact

    def update_service(self, instance, *, actor, citations=(), **fields):
        with transaction.atomic():
            fact = services.system_fact_update(fact=instance, actor=actor, **fields)
            self._cite(fact, citations, actor)
        return fact
