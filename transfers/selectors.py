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


def record_warnings(record) -> list[str]:
    """What an editor should look at again after saving a record, without refusing it: a
    party that did not exist on the record's date (East Germany in 2024)."""
    warnings = []
    day = getattr(record, "date", None)
    if day is None:
        return warnings
    for field in RECORD_PARTIES[type(record)]:
        party = getattr(record, field, None)
        if party is not None and not party.existed_on(day):
            span = f"{party.existed_from or '…'} to {party.existed_until or 'today'}"
            warnings.append(
                f"The {field}, {party}, did not exist on {record.date_display} (it existed from "
                f"{span}): check that the right party was picked."
            )
    return warnings


__all__ = [
    "RECORD_FIELDS",
    "RECORD_PARTIES",
    "has_citation",
    "record_warnings",
    "record_list",
    "unsourced",
    "source_list",
]


# -- why this number ------------------------------------------------------------------------


def estimate_explanation(
    *, holder_id: int, system_id: int, scope: str = "system", as_of=None
) -> list[dict]:
    """The ledger rows behind an estimate in date order ("why this number"), each with the
    record it came from and that record's citations with their sources. A constant number
    of queries, whatever the number of rows."""
    from inventory.selectors import estimate_ledger_rows

    rows = list(estimate_ledger_rows(holder_id, system_id, scope, as_of))
    by_model: dict[str, set[int]] = {}
    for row in rows:
        by_model.setdefault(row.origin_model, set()).add(row.origin_id)
    records: dict[tuple[str, int], object] = {}
    for model in (Holding, Pledge, Transfer, Expenditure):
        ids = by_model.get(model._meta.label_lower)
        if ids:
            for record in record_list(model).filter(pk__in=ids):
                records[(model._meta.label_lower, record.pk)] = record
    return [
        {
            "entry": row,
            "record": records.get((row.origin_model, row.origin_id)),
            "citations": list(records[(row.origin_model, row.origin_id)].citations.all())
            if (row.origin_model, row.origin_id) in records
            else [],
        }
        for row in rows
    ]
