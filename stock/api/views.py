"""/api/v1/estimates/: the derived stock estimates, read-only.

- `GET /estimates/` — current estimates, filtered by `holder`, `system`, `system_family`,
  `scope`, `inconsistent`, `has_baseline`, `best_grade`; ordered by `on_hand_low` and others.
  With `as_of=YYYY-MM-DD` the estimates are computed from the ledger as of that date
  (`holder` or `system` is then required, so that the answer stays bounded).
- `GET /estimates/{id}/` — one estimate; `…/explanation/` the ledger rows, records and
  citations behind it ("why this number", `as_of=` too); `…/series/` its monthly points.

Estimates are derived data: there is no write endpoint. They live in `inventory`; the
explanation needs the records' citations, hence this module lives in `transfers`.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, ValidationError

from core.api.filters import StrictBooleanFilter, StrictFilterSet, filter_errors
from core.api.known_at import KNOWN_AT_DESCRIPTION, known_at_value
from core.api.viewsets import LIST_ACTIONS, ApiMixin
from core.history import known_at_parse
from inventory.api.filters import PartyFilter, SystemFamilyFilter, SystemFilter
from inventory.api.serializers import CountryRefSerializer, SystemRefSerializer
from inventory.models import Country, WeaponSystem
from inventory.selectors import weapon_system_family_ids
from stock.choices import EstimateScope
from stock.headline import headline_of
from stock.models import EstimatePoint, StockEstimate
from stock.selectors import (
    estimate_explanation,
    estimate_list,
    estimate_series,
    estimates_as_of,
    estimates_compared,
)

RANGES = ("received", "sent", "expended", "on_hand", "incoming", "outgoing", "projected")
AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description="Compute the estimates from the ledger as of this date (YYYY-MM-DD) instead "
    "of returning the stored current ones. On the list, `holder` or `system` is required.",
)
KNOWN_AT = OpenApiParameter(
    "known_at",
    OpenApiTypes.DATETIME,
    description=KNOWN_AT_DESCRIPTION.replace("Records", "Ledger rows")
    + " The estimates are computed from the ledger rows known then, as of `as_of` (default: "
    "today); on the list, `holder` or `system` is required.",
)


# -- serializers ------------------------------------------------------------------------------


class RangeSerializer(serializers.Serializer):
    low = serializers.IntegerField(help_text="Lowest plausible number (0 or more).")
    high = serializers.IntegerField(
        allow_null=True, help_text="Highest plausible number; null: unknown / unbounded."
    )
    display = serializers.CharField(help_text='As shown to people: "4", "24–99", "≥25".')


class BaselineSerializer(serializers.Serializer):
    low = serializers.IntegerField()
    high = serializers.IntegerField(allow_null=True)
    date = serializers.DateField(allow_null=True)


class EvidenceSerializer(serializers.Serializer):
    best_grade = serializers.CharField(help_text='Best Admiralty grade ("A1" best); "" if none.')
    weakest_grade = serializers.CharField()
    record_count = serializers.IntegerField(help_text="Ledger rows (records) behind it.")
    unsourced_count = serializers.IntegerField()


def _range(values, name: str) -> dict:
    item = values.range(name)
    return {"low": item.low, "high": item.high, "display": item.display()}


class EstimateSerializer(serializers.Serializer):
    """An estimate of a holder's stock of a system (scope "system") or of a family."""

    id = serializers.IntegerField(
        allow_null=True, help_text="Null for an estimate computed as of a past date."
    )
    holder = CountryRefSerializer()
    system = SystemRefSerializer()
    scope = serializers.ChoiceField(choices=EstimateScope.choices)
    as_of = serializers.DateField(help_text="The date the estimate holds for.")
    baseline = BaselineSerializer(
        allow_null=True, help_text="The latest counted holding; null when none is known."
    )
    received = RangeSerializer()
    sent = RangeSerializer()
    expended = RangeSerializer()
    on_hand = RangeSerializer()
    incoming = RangeSerializer()
    outgoing = RangeSerializer()
    projected = RangeSerializer()
    inconsistent = serializers.BooleanField(
        help_text="More units went out than could have been there (on hand is shown as 0)."
    )
    conflict = serializers.BooleanField(
        help_text="A movement counted here is reported with ranges that disagree: the "
        "estimate uses the range covering them (see /api/v1/conflicts/)."
    )
    display = serializers.CharField(
        help_text='The headline as shown to people: on hand when it is bounded ("24–99"), '
        'else the known parts ("≥ 49 in, ≥ 2 used, no count"); on_hand.display is the same.'
    )
    evidence = EvidenceSerializer()
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When these numbers last changed; null when computed now."
    )

    def to_representation(self, instance):
        holders = self.context.get("holders", {})
        systems = self.context.get("systems", {})
        holder = holders.get(instance.holder_id) or instance.holder
        system = systems.get(instance.system_id) or instance.system
        as_of = self.context.get("as_of") or dt.date.today()
        headline = headline_of(instance)
        data = {
            "id": instance.pk,
            "holder": {"id": holder.pk, "code": holder.code, "name": holder.name},
            "system": {"id": system.pk, "name": system.name},
            "scope": instance.scope,
            "as_of": as_of.isoformat(),
            "baseline": (
                {
                    "low": instance.baseline_low,
                    "high": instance.baseline_high,
                    "date": instance.baseline_date.isoformat() if instance.baseline_date else None,
                }
                if instance.has_baseline
                else None
            ),
            **{name: _range(instance, name) for name in RANGES},
            "inconsistent": instance.inconsistent,
            "conflict": instance.conflict,
            "display": headline,
            "evidence": {
                "best_grade": instance.best_grade,
                "weakest_grade": instance.weakest_grade,
                "record_count": instance.record_count,
                "unsourced_count": instance.unsourced_count,
            },
            "computed_at": (
                serializers.DateTimeField().to_representation(instance.computed_at)
                if instance.computed_at
                else None
            ),
        }
        data["on_hand"]["display"] = headline
        return data


class EstimateChangeSerializer(serializers.Serializer):
    """One estimate as known at two moments (`estimates/changes/`)."""

    holder = CountryRefSerializer()
    system = SystemRefSerializer()
    scope = serializers.ChoiceField(choices=EstimateScope.choices)
    before = EstimateSerializer(allow_null=True, help_text="As known at `since`; null: none.")
    after = EstimateSerializer(allow_null=True, help_text="As known at `until`; null: none.")
    changed = serializers.ListField(
        child=serializers.CharField(), help_text="The numbers that differ (on_hand_low, …)."
    )

    def to_representation(self, item):
        before, after, changed = item
        either = after or before
        one = EstimateSerializer(context=self.context)
        shown = {
            "before": one.to_representation(before) if before is not None else None,
            "after": one.to_representation(after) if after is not None else None,
        }
        named = shown["after"] or shown["before"]
        return {
            "holder": named["holder"],
            "system": named["system"],
            "scope": either.scope,
            **shown,
            "changed": changed,
        }


class ExplanationCitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    grade = serializers.CharField()
    stance = serializers.CharField()
    attribution = serializers.CharField()
    excerpt = serializers.CharField()
    source = serializers.DictField(help_text="id, url, title, publisher of the source.")


class ExplanationRowSerializer(serializers.Serializer):
    """One ledger row behind an estimate, with the record it came from."""

    date = serializers.DateField(allow_null=True)
    date_precision = serializers.CharField()
    date_earliest = serializers.DateField(
        allow_null=True, help_text="First possible day; null: the beginning of time."
    )
    date_latest = serializers.DateField(
        allow_null=True, help_text="Last possible day; null: no later than reported."
    )
    movement = serializers.CharField(help_text="baseline, received, sent, expended, …")
    system = SystemRefSerializer()
    quantity = RangeSerializer()
    quantity_text = serializers.CharField()
    grade = serializers.CharField(help_text='Best grade of the record\'s citations; "" unsourced.')
    record = serializers.DictField(
        allow_null=True, help_text="type, id, label and API URL of the origin record."
    )
    citations = ExplanationCitationSerializer(many=True)
    counted = serializers.BooleanField(
        help_text="False: a report superseded by the movement it was merged into."
    )
    left_out = serializers.CharField(help_text="Why it is not counted (a duplicate of …).")
    reconciliation = serializers.DictField(
        allow_null=True,
        help_text="For a movement's row (record type \"movement\"): its reconciled range, conflict flag, each dataset's "
        "total, and which datasets set the low and the high bound.",
    )

    def to_representation(self, item):
        from stock.estimates import Range

        entry, record = item["entry"], item["record"]
        request = self.context.get("request")
        record_ref = None
        if record is not None:
            name = record._meta.model_name
            path = f"/api/v1/{name}s/{record.pk}/"
            record_ref = {
                "type": name,
                "id": record.pk,
                "label": entry.origin_label,
                "url": request.build_absolute_uri(path) if request else path,
            }
        quantity = Range(entry.quantity_low, entry.quantity_high)
        return {
            "date": entry.date.isoformat() if entry.date else None,
            "date_precision": entry.date_precision,
            "date_earliest": entry.date_earliest.isoformat() if entry.date_earliest else None,
            "date_latest": entry.date_latest.isoformat() if entry.date_latest else None,
            "movement": entry.kind,
            "system": {"id": entry.system_id, "name": entry.system.name},
            "quantity": {"low": quantity.low, "high": quantity.high, "display": str(quantity)},
            "quantity_text": entry.quantity_text,
            "grade": entry.grade,
            "record": record_ref,
            "counted": item.get("counted", True),
            "left_out": item.get("left_out", ""),
            "reconciliation": _movement_ref(item.get("movement")),
            "citations": [
                {
                    "id": citation.pk,
                    "grade": citation.grade,
                    "stance": citation.stance,
                    "attribution": citation.attribution,
                    "excerpt": citation.excerpt,
                    "source": {
                        "id": citation.source_id,
                        "url": citation.source.url,
                        "title": citation.source.title,
                        "publisher": citation.source.publisher,
                    },
                }
                for citation in item["citations"]
            ],
        }


def _movement_ref(bounds: dict | None) -> dict | None:
    if bounds is None:
        return None
    movement = bounds["movement"]
    return {
        "id": movement.pk,
        "quantity": {
            "low": movement.quantity_low,
            "high": movement.quantity_high,
            "display": movement.quantity_display,
        },
        "conflict": movement.conflict,
        "datasets": bounds["datasets"],
        "low_set_by": bounds["low_set_by"],
        "high_set_by": bounds["high_set_by"],
        "reports": [
            {
                "dataset": r.dataset,
                "type": r.origin_model.split(".")[-1],
                "id": r.origin_id,
                "label": r.origin_label,
            }
            for r in movement.reports.all()
        ],
    }


class SeriesPointSerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="The last day of the month.")
    on_hand = RangeSerializer()
    incoming = RangeSerializer()
    outgoing = RangeSerializer()
    projected = RangeSerializer()
    inconsistent = serializers.BooleanField()

    def to_representation(self, point: EstimatePoint):
        return {
            "as_of": point.as_of.isoformat(),
            **{
                name: _range(point, name)
                for name in ("on_hand", "incoming", "outgoing", "projected")
            },
            "inconsistent": point.inconsistent,
        }


# -- filters ----------------------------------------------------------------------------------


class StrictDateField(forms.DateField):
    input_formats = ["%Y-%m-%d"]


@extend_schema_field(OpenApiTypes.DATE)
class AsOfFilter(django_filters.Filter):
    """Validated here; applied by the viewset (computing, not filtering)."""

    field_class = StrictDateField

    def filter(self, qs, value):
        return qs


class MomentField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return known_at_parse(value.strip())
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


@extend_schema_field(OpenApiTypes.DATETIME)
class KnownAtFilter(AsOfFilter):
    """A moment (`core.history.known_at_parse`); validated here, applied by the viewset."""

    field_class = MomentField


class EstimateFilterSet(StrictFilterSet):
    holder = PartyFilter(field_name="holder_id", help_text="Party code, alias or id; commas.")
    system = SystemFilter(field_name="system_id", help_text="System name, alias or id; commas.")
    system_family = SystemFamilyFilter(
        field_name="system_id", help_text="A system and all its variants."
    )
    scope = django_filters.ChoiceFilter(choices=EstimateScope.choices)
    inconsistent = StrictBooleanFilter(field_name="inconsistent")
    conflict = StrictBooleanFilter(field_name="conflict")
    has_baseline = StrictBooleanFilter(field_name="has_baseline")
    best_grade = django_filters.CharFilter(field_name="best_grade", help_text="e.g. B2")
    as_of = AsOfFilter(help_text=AS_OF.description)
    known_at = KnownAtFilter(help_text=KNOWN_AT.description)

    class Meta:
        model = StockEstimate
        fields: list[str] = []


class EstimateChangesFilterSet(EstimateFilterSet):
    """`estimates/changes/`: the pairs to compare and the two moments."""

    since = KnownAtFilter(help_text="The earlier moment (required): what the database knew then.")
    until = KnownAtFilter(help_text="The later moment; default: now.")

    class Meta(EstimateFilterSet.Meta):
        pass


CHANGES_FILTERS = ("holder", "system", "system_family", "scope", "as_of", "since", "until")


# -- the viewset ------------------------------------------------------------------------------


@extend_schema(tags=["estimates"])
class StockEstimateViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    """Stock estimates per holder × system and per holder × family (read-only)."""

    queryset = estimate_list()
    serializer_class = EstimateSerializer
    filterset_class = EstimateFilterSet
    ordering_fields = ["holder__name", "system__name", "on_hand_low", "projected_low", "id"]
    ordering = ["holder__name", "system__name", "scope", "id"]
    search_fields = ["holder__name", "holder__code", "system__name", "system__aliases__alias"]
    list_actions = (*LIST_ACTIONS, "changes")

    def check_permissions(self, request):
        # Derived data has no write method for anyone: say so (405) before asking whether
        # the user could have written (403).
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            raise MethodNotAllowed(request.method)
        super().check_permissions(request)

    def allowed_query_params(self) -> set[str]:
        allowed = super().allowed_query_params()
        if self.action in ("explanation", "series"):
            allowed |= {self.paginator.page_query_param, self.paginator.page_size_query_param}
        if self.action == "explanation":
            allowed |= {"as_of", "known_at"}
        if self.action == "changes":
            allowed |= set(CHANGES_FILTERS)
        return allowed

    def _as_of(self):
        raw = self.request.query_params.get("as_of")
        if raw is None:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ValidationError({"as_of": [f"{raw!r} is not a date; use YYYY-MM-DD."]}) from None

    def _pairs(self, data, parameter: str) -> tuple[list | None, list | None, list[str]]:
        """The holders, systems and scopes a computed list names (`holder` or `system` is
        required, so that the answer stays bounded: a refusal names `parameter`)."""
        holders = data.get("holder")
        systems = [s.pk for s in data.get("system") or []] or None
        if data.get("system_family"):
            family_ids = sorted(
                {pk for system in data["system_family"] for pk in weapon_system_family_ids(system)}
            )
            systems = sorted(set(systems or []) | set(family_ids)) if systems else family_ids
        if holders is None and systems is None:
            raise ValidationError(
                {
                    parameter: [
                        f"With {parameter}, name a holder or a system (holder=UA, system=ATACMS)."
                    ]
                }
            )
        scopes = [data["scope"]] if data.get("scope") else [s.value for s in EstimateScope]
        return holders, systems, scopes

    def _context_for(self, estimates, as_of) -> dict:
        return {
            **self.get_serializer_context(),
            "as_of": as_of,
            "holders": Country.objects.in_bulk({e.holder_id for e in estimates}),
            "systems": WeaponSystem.objects.in_bulk({e.system_id for e in estimates}),
        }

    def list(self, request, *args, **kwargs):
        as_of = self._as_of()
        known_at = known_at_value(request)
        if as_of is None and known_at is None:
            return super().list(request, *args, **kwargs)
        filterset = self.filterset_class(request.query_params, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise filter_errors(filterset.errors)
        data = filterset.form.cleaned_data
        holders, systems, scopes = self._pairs(data, "as_of" if as_of else "known_at")
        as_of = as_of or dt.date.today()
        estimates = []
        for scope in scopes:
            estimates += estimates_as_of(
                as_of, holder_ids=holders, system_ids=systems, scope=scope, known_at=known_at
            )
        for flag in ("inconsistent", "has_baseline", "conflict"):
            if data.get(flag) is not None:
                estimates = [e for e in estimates if getattr(e, flag) == data[flag]]
        if data.get("best_grade"):
            estimates = [e for e in estimates if e.best_grade == data["best_grade"]]
        page = self.paginate_queryset(estimates)
        return self.get_paginated_response(
            EstimateSerializer(page, many=True, context=self._context_for(page, as_of)).data
        )

    @extend_schema(
        summary="What changed in what we know: the estimates whose numbers differ between "
        "two moments",
        description="Each holder × system (× family) whose numbers as the database knew them "
        "at `since` differ from those at `until` (default: now), both computed as of `as_of` "
        "(default: today): `before` and `after` (null where there was no estimate then) and "
        "the names of the numbers that `changed`. The records created, changed or deleted "
        "between the two moments are at /api/v1/changes/?since=…&until=….",
        filters=False,
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, required=True, description=KNOWN_AT_DESCRIPTION
            ),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Default: now."),
            AS_OF,
            OpenApiParameter("holder", str, description="Party code, alias or id; commas."),
            OpenApiParameter("system", str, description="System name, alias or id; commas."),
            OpenApiParameter("system_family", str, description="A system and its variants."),
            OpenApiParameter("scope", str, enum=EstimateScope.values),
        ],
        responses=EstimateChangeSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="changes", filterset_class=None)
    def changes(self, request, *args, **kwargs):
        filterset = EstimateChangesFilterSet(request.query_params, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise filter_errors(filterset.errors)
        data = filterset.form.cleaned_data
        if data.get("since") is None:
            raise ValidationError(
                {"since": ["Give the earlier moment: since=2024-03-01 (or a date-time)."]}
            )
        until = data.get("until")
        if until is not None and until < data["since"]:
            raise ValidationError(
                {
                    "until": [
                        f"until ({until.isoformat()}) is before since ({data['since'].isoformat()})."
                    ]
                }
            )
        holders, systems, scopes = self._pairs(data, "since")
        as_of = data.get("as_of") or dt.date.today()
        found = estimates_compared(
            data["since"], until, as_of=as_of, holder_ids=holders, system_ids=systems, scopes=scopes
        )
        page = self.paginate_queryset(found)
        estimates = [e for old, new, _ in page for e in (old, new) if e is not None]
        context = self._context_for(estimates, as_of)
        return self.get_paginated_response(
            EstimateChangeSerializer(page, many=True, context=context).data
        )

    @extend_schema(
        summary="Why this number: the ledger rows, records and citations behind an estimate",
        parameters=[AS_OF, KNOWN_AT],
        filters=False,
        responses=ExplanationRowSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def explanation(self, request, *args, **kwargs):
        estimate = self.get_object()
        items = estimate_explanation(
            holder_id=estimate.holder_id,
            system_id=estimate.system_id,
            scope=estimate.scope,
            as_of=self._as_of(),
            known_at=known_at_value(request),
        )
        page = self.paginate_queryset(items)
        data = ExplanationRowSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="The estimate at the end of each month",
        filters=False,
        responses=SeriesPointSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def series(self, request, *args, **kwargs):
        estimate = self.get_object()
        points = estimate_series(estimate.holder_id, estimate.system_id, estimate.scope)
        page = self.paginate_queryset(points)
        return self.get_paginated_response(SeriesPointSerializer(page, many=True).data)
