"""`GET /api/v1/history/?model=…&object_id=…`: the change history of any tracked model,
deleted records included. Apps register their models with `history_register`."""

from __future__ import annotations

from django import forms
from django.db import models
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission

from core.api.permissions import anonymous_read_allowed
from core.api.serializers import CHANGES, HistoryRowSerializer
from core.api.viewsets import ApiMixin
from core.history import Door

HISTORY_MODELS: dict[str, type[models.Model]] = {}


def history_register(*tracked: type[models.Model]) -> None:
    for model in tracked:
        HISTORY_MODELS[model._meta.model_name] = model


class HistoryQuery(forms.Form):
    model = forms.CharField()
    object_id = forms.IntegerField(required=False, min_value=1)
    change = forms.ChoiceField(required=False, choices=[(code, code) for code in CHANGES.values()])
    door = forms.ChoiceField(required=False, choices=Door.choices)
    actor = forms.CharField(required=False)

    def clean_model(self):
        name = self.cleaned_data["model"].strip().lower()
        if name not in HISTORY_MODELS:
            raise forms.ValidationError(
                f"{name!r} is not a tracked model; use one of: {', '.join(sorted(HISTORY_MODELS))}."
            )
        return HISTORY_MODELS[name]


class HistoryPermissions(BasePermission):
    """The view permission of the model whose history is asked for."""

    def has_permission(self, request, view) -> bool:
        if anonymous_read_allowed(request):
            return True
        if not request.user.is_authenticated:
            return False
        model = HISTORY_MODELS.get((request.query_params.get("model") or "").strip().lower())
        if model is None:
            return True  # the view answers 400 naming the parameter
        return request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")


@extend_schema(
    summary="Change history of any record, deleted ones included",
    parameters=[
        OpenApiParameter(
            "model",
            str,
            required=True,
            description="The model: country, countryalias, weaponsystem, weaponsystemalias, "
            "holding, pledge, transfer, expenditure, authorization, source, citation.",
        ),
        OpenApiParameter("object_id", int, description="The id the record has (or had)."),
        OpenApiParameter("change", str, enum=list(CHANGES.values())),
        OpenApiParameter("door", str, enum=Door.values),
        OpenApiParameter("actor", str, description="Username of who made the change."),
    ],
)
class HistoryViewSet(ApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = HistoryRowSerializer
    permission_classes = [HistoryPermissions]
    extra_query_params = tuple(HistoryQuery.base_fields)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: any registered model's rows
            return next(iter(HISTORY_MODELS.values())).history.none()
        query = HistoryQuery(self.request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        params = query.cleaned_data
        rows = params["model"].history.order_by("-history_date", "-history_id")
        if params["object_id"]:
            rows = rows.filter(id=params["object_id"])
        if params["change"]:
            code = {name: code for code, name in CHANGES.items()}[params["change"]]
            rows = rows.filter(history_type=code)
        if params["door"]:
            rows = rows.filter(door=params["door"])
        if params["actor"]:
            rows = rows.filter(actor_name=params["actor"])
        return rows
