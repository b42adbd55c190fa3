"""/api/v1/movements/ and /api/v1/conflicts/: movements, each counted once in the estimates
however many reports (records from different datasets) describe it, read-only.

- `GET /movements/` — filtered by `holder`, `donor`, `system`, `system_family`, `kind`,
  `conflict`, `dataset`; each with its reconciled range, conflict flag, best grade and its
  reports (dataset, record, quantity, date, match score and decision).
- `GET /conflicts/` — the same, only movements whose datasets disagree (disjoint ranges).

Editors decide about matches in the admin (confirm, reject, merge, split).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import MethodNotAllowed

from core.api.filters import StrictBooleanFilter, StrictFilterSet
from core.api.viewsets import ApiMixin
from inventory.api.filters import PartyFilter, SystemFamilyFilter, SystemFilter
from stock.choices import MovementKind
from stock.estimates import Range
from stock.models import Movement
from stock.selectors import movement_list


def _range(low, high) -> dict:
    value = Range(low, high)
    return {"low": value.low, "high": value.high, "display": value.display()}


def _party(party) -> dict | None:
    return None if party is None else {"id": party.pk, "code": party.code, "name": party.name}


class MovementSerializer(serializers.Serializer):
    """A movement and the reports it counts once."""

    def to_representation(self, movement: Movement) -> dict:
        return {
            "id": movement.pk,
            "kind": movement.kind,
            "donor": _party(movement.donor),
            "holder": _party(movement.holder),
            "system": {"id": movement.system_id, "name": movement.system.name},
            "family": {"id": movement.family_id, "name": movement.family.name},
            "quantity": _range(movement.quantity_low, movement.quantity_high),
            "conflict": movement.conflict,
            "best_grade": movement.best_grade,
            "date_earliest": movement.date_earliest.isoformat() if movement.date_earliest else None,
            "date_latest": movement.date_latest.isoformat() if movement.date_latest else None,
            "dataset_count": movement.dataset_count,
            "report_count": movement.report_count,
            "reports": [
                {
                    "dataset": report.dataset,
                    "record": {
                        "type": report.origin_model.split(".")[-1],
                        "id": report.origin_id,
                        "label": report.origin_label,
                    },
                    "quantity": _range(report.quantity_low, report.quantity_high),
                    "date": report.date.isoformat() if report.date else None,
                    "date_precision": report.date_precision,
                    "grade": report.grade,
                    "score": report.score,
                    "decision": report.decision,
                    "decided_by": report.decided_by,
                    "decided_at": (
                        serializers.DateTimeField().to_representation(report.decided_at)
                        if report.decided_at
                        else None
                    ),
                    "reason": report.reason,
                }
                for report in movement.reports.all()
            ],
        }


class MovementFilterSet(StrictFilterSet):
    holder = PartyFilter(field_name="holder_id", help_text="Party code, alias or id; commas.")
    donor = PartyFilter(field_name="donor_id", help_text="Party code, alias or id; commas.")
    system = SystemFilter(field_name="system_id", help_text="System name, alias or id.")
    system_family = SystemFamilyFilter(field_name="system_id", help_text="With its variants.")
    kind = django_filters.ChoiceFilter(choices=MovementKind.choices)
    conflict = StrictBooleanFilter(field_name="conflict")
    dataset = django_filters.CharFilter(
        method="filter_dataset", help_text='A report from this dataset ("sipri", "kiel", …).'
    )

    class Meta:
        model = Movement
        fields: list[str] = []

    def filter_dataset(self, queryset, name, value):
        return queryset.filter(reports__dataset=value).distinct()


class _ReadOnly(ApiMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MovementSerializer
    filterset_class = MovementFilterSet
    ordering_fields = ["id", "quantity_low", "report_count"]
    ordering = ["id"]
    search_fields = ["holder__name", "donor__name", "system__name", "family__name"]

    def check_permissions(self, request):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            raise MethodNotAllowed(request.method)
        super().check_permissions(request)


@extend_schema(tags=["movements"])
class MovementViewSet(_ReadOnly):
    """Movements: the reports of one real movement, counted once (read-only)."""

    queryset = movement_list()


@extend_schema(tags=["movements"])
class ConflictViewSet(_ReadOnly):
    """Movements whose reports disagree: counted with the range that covers them, flagged."""

    queryset = movement_list().filter(conflict=True)
