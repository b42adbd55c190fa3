"""Reads of the records that more than one caller (admin, API, importers, reports) needs."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from transfers.choices import PledgeStatus
from transfers.models import (
    RECORD_FIELDS,
    Citation,
    Source,
    canonical_url,
)
from transfers.records import RECORD_TYPES

# An open pledge: announced or partially delivered, so still expected to move stock (the
# ledger posts it as pledged; the reports list it as outstanding). The one definition.
OPEN_PLEDGE_STATUSES = (PledgeStatus.ANNOUNCED, PledgeStatus.PARTIALLY_DELIVERED)
OPEN_PLEDGE = Q(status__in=OPEN_PLEDGE_STATUSES)

RECORD_PARTIES = {t.model: t.parties for t in RECORD_TYPES}


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


def source_key(url: str, title: str) -> str:
    """What makes two sources the same: the canonical URL, or, for a document without an
    address, its title. The one definition the services, the API and the importers use."""
    return canonical_url(url) if url else f"title:{title}"


def sources_by_key(keys: Iterable[str]) -> dict[str, int]:
    """The ids of the stored sources with these keys (`source_key`), set-based: on
    PostgreSQL one array parameter, elsewhere IN lists of 2,000."""
    keys = set(keys)
    urls = sorted(key for key in keys if not key.startswith("title:"))
    titles = sorted(key[6:] for key in keys if key.startswith("title:"))
    found: dict[str, int] = {}
    if urls and connection.vendor == "postgresql":
        wanted = RawSQL("SELECT unnest(%s::text[])", [urls])
        found.update(
            Source.objects.filter(url_canonical__in=wanted).values_list("url_canonical", "pk")
        )
    else:
        for start in range(0, len(urls), 2000):
            chunk = urls[start : start + 2000]
            found.update(
                Source.objects.filter(url_canonical__in=chunk).values_list("url_canonical", "pk")
            )
    for start in range(0, len(titles), 2000):
        chunk = titles[start : start + 2000]
        rows = Source.objects.filter(url_canonical="", title__in=chunk).order_by("pk")
        for title, pk in rows.values_list("title", "pk"):
            found.setdefault(f"title:{title}", pk)
    return found


def source_find(*, url: str = "", title: str = "") -> Source | None:
    """The stored source that is the same as one with this URL (or, without, this title)."""
    found = sources_by_key([source_key(url, title)])
    return Source.objects.get(pk=next(iter(found.values()))) if found else None


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
    "OPEN_PLEDGE",
    "OPEN_PLEDGE_STATUSES",
    "RECORD_FIELDS",
    "RECORD_PARTIES",
    "has_citation",
    "record_warnings",
    "record_list",
    "unsourced",
    "source_find",
    "source_key",
    "source_list",
    "sources_by_key",
]


def _record_count(model) -> Coalesce:
    return Coalesce(
        Subquery(
            model.objects.filter(system_id=OuterRef("pk"))
            .order_by()
            .values("system_id")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        0,
    )


def unresolved_system_names() -> QuerySet:
    """The dataset names with no catalogue entry (systems an import created that no editor
    has confirmed), each with `record_count` (its records, all types) and `pending_count`
    (the candidates proposed for it), most records first. One query."""
    from inventory.choices import ProposalStatus
    from inventory.models import SystemAliasProposal, UnresolvedSystemName

    record_count = sum((_record_count(model) for model in RECORD_PARTIES), start=Value(0))
    pending = Coalesce(
        Subquery(
            SystemAliasProposal.objects.filter(
                system_id=OuterRef("pk"), status=ProposalStatus.PENDING
            )
            .order_by()
            .values("system_id")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        0,
    )
    return (
        UnresolvedSystemName.objects.filter(catalogued=False)
        .annotate(record_count=record_count, pending_count=pending)
        .order_by("-record_count", "name")
    )


def record_likely_matches(record, cited_source_ids: Iterable[int] = ()) -> list[dict]:
    """The existing reports a record (saved or not) may duplicate, before it is saved
    (`stock.selectors.entry_candidates`): its dataset is the prefix of its external id, else
    the first source it cites ("source:12"), else "unsourced" (as `origin_datasets` says)."""
    from stock.selectors import entry_candidates
    from transfers.ledger import ledger_entries

    external_id = getattr(record, "external_id", "") or ""
    cited = sorted(int(pk) for pk in cited_source_ids)
    if external_id:
        dataset = external_id.split(":", 1)[0]
    elif cited:
        dataset = f"source:{cited[0]}"
    else:
        dataset = "unsourced"
    entries = ledger_entries(record, grade="")
    own = (record._meta.label_lower, record.pk) if record.pk else None
    return entry_candidates(entries, dataset, exclude=own)
