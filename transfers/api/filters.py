"""Filtersets of the records and their evidence, named after the fields."""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.api.filters import CSVChoiceFilter, StrictBooleanFilter, StrictFilterSet
from core.choices import DatePrecision
from inventory.api.filters import PartyFilter, SystemFamilyFilter, SystemFilter
from inventory.choices import Credibility, Reliability
from transfers.choices import (
    Attribution,
    AuthorizationKind,
    Condition,
    ExpenditureKind,
    HoldingKind,
    PartyRoleKind,
    PledgeStatus,
    PolicyKind,
    SourceType,
    Stance,
    SystemFactKind,
    TransferBasis,
)
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
    canonical_url,
)
from transfers.selectors import with_role


class RolePartyFilter(PartyFilter):
    """Movements in which these parties have this role (`role` None: any role)."""

    def __init__(self, *args, role: str | None = None, **kwargs):
        self.role = role
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(with_role(self.role, [pk for pk in value if pk is not None]))


class MovementRoleFilters(django_filters.FilterSet):
    """The parties of a chain (docs/records.md): `?arranger=US`, `?via=US` (any role)."""

    via = RolePartyFilter(
        help_text="Parties with any role in the movement (arranger, financer, re-export "
        "consent, original supplier, intermediary), by code, alias or id."
    )
    arranger = RolePartyFilter(role=PartyRoleKind.ARRANGER, help_text="Arranging parties.")
    financer = RolePartyFilter(role=PartyRoleKind.FINANCER, help_text="Financing parties.")
    reexport_consent = RolePartyFilter(
        role=PartyRoleKind.REEXPORT_CONSENT, help_text="Parties consenting to the re-export."
    )
    original_supplier = RolePartyFilter(
        role=PartyRoleKind.ORIGINAL_SUPPLIER, help_text="Original suppliers (second-hand)."
    )
    intermediary = RolePartyFilter(
        role=PartyRoleKind.INTERMEDIARY, help_text="Parties it was delivered via."
    )


class GradeField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        grades = [token.strip().upper() for token in value.split(",") if token.strip()]
        bad = [grade for grade in grades if not re.fullmatch(r"[A-F][1-6]", grade)]
        if bad or not grades:
            raise forms.ValidationError(
                f"{', '.join(bad) or repr(value)} is not an Admiralty grade (A1 … F6)."
            )
        return grades


@extend_schema_field(OpenApiTypes.STR)
class GradeFilter(django_filters.Filter):
    field_class = GradeField


def reliability_q(letters, prefix: str = "") -> Q:
    """Citations whose reliability (their own, else their source's) is one of `letters`."""
    return Q(**{f"{prefix}reliability__in": letters}) | Q(
        **{f"{prefix}reliability": "", f"{prefix}source__reliability__in": letters}
    )


def grade_q(grades, prefix: str = "") -> Q:
    condition = Q(pk__in=[])
    for grade in grades:
        condition |= reliability_q([grade[0]], prefix) & Q(
            **{f"{prefix}credibility": int(grade[1])}
        )
    return condition


class EvidenceFilterSet(StrictFilterSet):
    """Grade filters: a record matches when at least one of its citations does."""

    reliability = CSVChoiceFilter(
        choices=Reliability.choices,
        method="filter_reliability",
        help_text="Admiralty reliability, A–F (comma-separated for several).",
    )
    credibility = CSVChoiceFilter(
        choices=Credibility.choices,
        coerce=int,
        method="filter_credibility",
        help_text="Admiralty credibility, 1–6 (comma-separated for several).",
    )
    grade = GradeFilter(method="filter_grade", help_text="Admiralty grades such as B2,C3.")

    def citations_matching(self, queryset, condition: Q):
        model_name = queryset.model._meta.model_name
        return queryset.filter(
            Exists(Citation.objects.filter(condition, **{model_name: OuterRef("pk")}))
        )

    def filter_reliability(self, queryset, name, value):
        return self.citations_matching(queryset, reliability_q(value))

    def filter_credibility(self, queryset, name, value):
        return self.citations_matching(queryset, Q(credibility__in=value))

    def filter_grade(self, queryset, name, value):
        return self.citations_matching(queryset, grade_q(value))


class RecordFilterSet(EvidenceFilterSet):
    system = SystemFilter(field_name="system", help_text="Systems by id, name or alias.")
    system_family = SystemFamilyFilter(
        field_name="system", help_text="A system and all its variants (by id, name or alias)."
    )
    date_after = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", help_text="On or after (YYYY-MM-DD)."
    )
    date_before = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", help_text="On or before (YYYY-MM-DD)."
    )
    date_precision = django_filters.ChoiceFilter(choices=DatePrecision.choices)
    unsourced = StrictBooleanFilter(
        field_name="is_sourced", exclude=True, help_text="true: only records without a citation."
    )
    external_id = django_filters.CharFilter()
    ranges = (("date_after", "date_before"),)


def _meta(record_model):
    return type("Meta", (), {"model": record_model, "fields": []})


class HoldingFilterSet(RecordFilterSet):
    holder = PartyFilter(field_name="holder", help_text="Parties by code, alias or id.")
    supplier = PartyFilter(field_name="supplier")
    kind = django_filters.ChoiceFilter(choices=HoldingKind.choices)
    Meta = _meta(Holding)


class PledgeFilterSet(MovementRoleFilters, RecordFilterSet):
    donor = PartyFilter(
        field_name="donor",
        allow_undisclosed=True,
        help_text="Parties by code, alias or id; "
        "`undisclosed` for pledges whose donor is not named.",
    )
    recipient = PartyFilter(field_name="recipient")
    status = django_filters.ChoiceFilter(choices=PledgeStatus.choices)
    Meta = _meta(Pledge)


class TransferFilterSet(MovementRoleFilters, RecordFilterSet):
    donor = PartyFilter(field_name="donor", help_text="Parties by code, alias or id.")
    recipient = PartyFilter(field_name="recipient")
    basis = django_filters.ChoiceFilter(choices=TransferBasis.choices)
    condition = django_filters.ChoiceFilter(choices=Condition.choices)
    pledge = django_filters.NumberFilter(field_name="pledge_id", min_value=1)
    Meta = _meta(Transfer)


class ExpenditureFilterSet(RecordFilterSet):
    holder = PartyFilter(field_name="holder", help_text="Parties by code, alias or id.")
    kind = django_filters.ChoiceFilter(choices=ExpenditureKind.choices)
    Meta = _meta(Expenditure)


class AuthorizationFilterSet(RecordFilterSet):
    grantor = PartyFilter(field_name="grantor", help_text="Parties by code, alias or id.")
    holder = PartyFilter(field_name="holder")
    kind = django_filters.ChoiceFilter(choices=AuthorizationKind.choices)
    Meta = _meta(Authorization)


class PolicyFilterSet(RecordFilterSet):
    party = PartyFilter(field_name="party", help_text="The stating parties, by code or id.")
    recipient = PartyFilter(
        field_name="recipient",
        allow_undisclosed=True,
        help_text="Parties by code or id; `undisclosed` for policies about any recipient.",
    )
    kind = django_filters.ChoiceFilter(choices=PolicyKind.choices)
    bears_on_pledge = django_filters.NumberFilter(
        method="filter_bears_on_pledge", min_value=1, help_text="Policies bearing on a pledge."
    )
    Meta = _meta(Policy)

    def filter_bears_on_pledge(self, queryset, name, value):
        from transfers.selectors import policies_bearing_on

        pledge = Pledge.objects.filter(pk=value).first()
        ids = [p.pk for p in policies_bearing_on([pledge])[pledge.pk]] if pledge else []
        return queryset.filter(pk__in=ids)


class PartyRoleFilterSet(EvidenceFilterSet):
    party = PartyFilter(field_name="party", help_text="Parties by code, alias or id.")
    role = django_filters.ChoiceFilter(choices=PartyRoleKind.choices)
    pledge = django_filters.NumberFilter(field_name="pledge_id", min_value=1)
    transfer = django_filters.NumberFilter(field_name="transfer_id", min_value=1)

    class Meta:
        model = PartyRole
        fields = []

    def citations_matching(self, queryset, condition: Q):
        return queryset.filter(
            Exists(Citation.objects.filter(condition, party_role=OuterRef("pk")))
        )


class SystemFactFilterSet(EvidenceFilterSet):
    system = SystemFilter(field_name="system", help_text="Systems by id, name or alias.")
    kind = django_filters.ChoiceFilter(choices=SystemFactKind.choices)

    class Meta:
        model = SystemFact
        fields = []

    def citations_matching(self, queryset, condition: Q):
        return queryset.filter(
            Exists(Citation.objects.filter(condition, system_fact=OuterRef("pk")))
        )


class SourceFilterSet(StrictFilterSet):
    url = django_filters.CharFilter(method="filter_url", help_text="Matched by canonical URL.")
    source_type = django_filters.ChoiceFilter(choices=SourceType.choices)
    reliability = CSVChoiceFilter(
        choices=Reliability.choices, field_name="reliability", lookup_expr="in"
    )
    publisher = django_filters.CharFilter(lookup_expr="iexact")
    published_after = django_filters.DateFilter(field_name="published_on", lookup_expr="gte")
    published_before = django_filters.DateFilter(field_name="published_on", lookup_expr="lte")
    ranges = (("published_after", "published_before"),)

    class Meta:
        model = Source
        fields = []

    def filter_url(self, queryset, name, value):
        return queryset.filter(url_canonical=canonical_url(value))


class CitationFilterSet(StrictFilterSet):
    source = django_filters.NumberFilter(field_name="source_id", min_value=1)
    record_type = django_filters.ChoiceFilter(
        choices=[(name, name) for name in CITED_FIELDS], method="filter_record_type"
    )
    stance = django_filters.ChoiceFilter(choices=Stance.choices)
    attribution = django_filters.ChoiceFilter(choices=Attribution.choices)
    reliability = CSVChoiceFilter(
        choices=Reliability.choices,
        method="filter_reliability",
        help_text="Effective reliability: the citation's own, else its source's.",
    )
    credibility = CSVChoiceFilter(
        choices=Credibility.choices, coerce=int, field_name="credibility", lookup_expr="in"
    )
    grade = GradeFilter(method="filter_grade")
    holding = django_filters.NumberFilter(field_name="holding_id", min_value=1)
    pledge = django_filters.NumberFilter(field_name="pledge_id", min_value=1)
    transfer = django_filters.NumberFilter(field_name="transfer_id", min_value=1)
    expenditure = django_filters.NumberFilter(field_name="expenditure_id", min_value=1)
    authorization = django_filters.NumberFilter(field_name="authorization_id", min_value=1)
    policy = django_filters.NumberFilter(field_name="policy_id", min_value=1)
    party_role = django_filters.NumberFilter(field_name="party_role_id", min_value=1)
    system_fact = django_filters.NumberFilter(field_name="system_fact_id", min_value=1)

    class Meta:
        model = Citation
        fields = []

    def filter_record_type(self, queryset, name, value):
        return queryset.filter(**{f"{value}__isnull": False})

    def filter_reliability(self, queryset, name, value):
        return queryset.filter(reliability_q(value))

    def filter_grade(self, queryset, name, value):
        return queryset.filter(grade_q(value))
