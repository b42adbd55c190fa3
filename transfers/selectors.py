"""Reads of the records that more than one caller (admin, API, reports) needs."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, QuerySet

from transfers.models import (
    RECORD_FIELDS,
    Authorization,
    Citation,
    Expenditure,
    Holding,
    Pledge,
    Transfer,
)

RECORD_PARTIES = {
    Holding: ("holder", "supplier"),
    Pledge: ("donor", "recipient"),
    Transfer: ("donor", "recipient"),
    Expenditure: ("holder",),
    Authorization: ("grantor", "holder"),
}


def has_citation(model) -> Exists:
    """True where at least one citation supports the record."""
    return Exists(Citation.objects.filter(**{model._meta.model_name: OuterRef("pk")}))


def record_list(model) -> QuerySet:
    """Records with their parties, system and citations (with sources) loaded, and an
    `is_sourced` flag; the queries do not grow with the number of rows."""
    return (
        model.objects.select_related(*RECORD_PARTIES[model], "system")
        .prefetch_related("citations__source")
        .annotate(is_sourced=has_citation(model))
    )


def unsourced(model) -> QuerySet:
    return model.objects.filter(~has_citation(model))


def source_list() -> QuerySet:
    return Citation.source.field.related_model.objects.annotate(citation_count=Count("citations"))


__all__ = [
    "RECORD_FIELDS",
    "RECORD_PARTIES",
    "has_citation",
    "record_list",
    "unsourced",
    "source_list",
]
