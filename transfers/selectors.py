"""Reads of the records that more than one caller (admin, API, importers, reports) needs."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from core.history import history_as_of, instance_of
from transfers.choices import PledgeStatus
from transfers.models import (
    MOVEMENT_FIELDS,
    RECORD_FIELDS,
    Citation,
    PartyRole,
    Policy,
    Source,
    SystemFact,
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
    `is_sourced` flag; the queries do not grow with the number of rows. Pledges and
    transfers come with their party roles (and the roles' citations)."""
    queryset = (
        model.objects.select_related(*RECORD_PARTIES[model], "system")
        .prefetch_related("citations__source")
        .annotate(is_sourced=has_citation(model))
    )
    if model._meta.model_name in MOVEMENT_FIELDS:
        queryset = queryset.prefetch_related(roles_prefetch())
    return queryset


def cited_records_prefetch() -> list[Prefetch]:
    """Prefetches of the record (or claim) each citation of a list supports, with what its
    label names: a query per kind of record present, whatever the number of citations."""
    return [
        *(
            Prefetch(t.name, queryset=t.model.objects.select_related(*t.parties, "system"))
            for t in RECORD_TYPES
        ),
        Prefetch("party_role", queryset=role_list().prefetch_related(None)),
        Prefetch("system_fact", queryset=SystemFact.objects.select_related("system", "origin")),
    ]


# -- chains of parties, policies and cited facts (docs/records.md) -----------------------------


def roles_prefetch() -> Prefetch:
    return Prefetch(
        "roles",
        queryset=PartyRole.objects.select_related("party").prefetch_related("citations__source"),
    )


def with_role(role: str | None, party_ids) -> Q:
    """Movements (pledges or transfers) in which one of these parties has this role (any
    role when `role` is None): `?arranger=US`, `?via=US`."""
    roles = PartyRole.objects.filter(party_id__in=party_ids)
    if role is not None:
        roles = roles.filter(role=role)
    return Q(pk__in=roles.values("pledge_id")) | Q(pk__in=roles.values("transfer_id"))


def role_list() -> QuerySet:
    return PartyRole.objects.select_related(
        "party",
        "pledge__recipient",
        "pledge__donor",
        "pledge__system",
        "transfer__recipient",
        "transfer__donor",
        "transfer__system",
    ).prefetch_related("citations__source")


def policy_list() -> QuerySet:
    return record_list(Policy)


def fact_list() -> QuerySet:
    return SystemFact.objects.select_related("system", "origin").prefetch_related(
        "citations__source"
    )


def _lineages(system_ids) -> dict[int, list[int]]:
    """Each system with its ancestors, itself first (a query per level of the tree)."""
    from inventory.models import WeaponSystem

    parent: dict[int, int | None] = {}
    wanted = set(system_ids)
    while wanted:
        rows = WeaponSystem.objects.filter(pk__in=wanted).values_list("pk", "parent_id")
        parent.update(rows)
        wanted = {p for _, p in rows if p is not None and p not in parent}
    lineages = {}
    for system_id in system_ids:
        chain, node = [], system_id
        while node is not None and node not in chain:
            chain.append(node)
            node = parent.get(node)
        lineages[system_id] = chain
    return lineages


def policies_bearing_on(pledges, *, known_at=None) -> dict[int, list[Policy]]:
    """The policies that bear on each pledge, by pledge id: stated about its system (or,
    when they cover variants, about a family it belongs to) and about its recipient or
    any recipient; oldest first. Whoever the donor is: "the US will not send more ATACMS
    of its own" bears on an ATACMS pledge from an undisclosed donor. A fixed number of
    queries for any number of pledges. `known_at`: the policies as they were at that moment
    (their history; the pledges are then the caller's, as of the same moment)."""
    pledges = list(pledges)
    if not pledges:
        return {}
    lineages = _lineages({p.system_id for p in pledges})
    systems = {s for chain in lineages.values() for s in chain}
    recipients = {p.recipient_id for p in pledges}
    if known_at is None:
        policies = Policy.objects.prefetch_related("citations__source")
    else:
        policies = history_as_of(Policy, known_at)
    candidates = list(
        policies.filter(system_id__in=systems)
        .filter(Q(recipient__isnull=True) | Q(recipient_id__in=recipients))
        .select_related("party", "recipient", "system")
        .order_by("date", "id")
    )
    if known_at is not None:
        candidates = [instance_of(row) for row in candidates]
    found: dict[int, list[Policy]] = {}
    for pledge in pledges:
        chain = lineages[pledge.system_id]
        found[pledge.pk] = [
            policy
            for policy in candidates
            if policy.recipient_id in (None, pledge.recipient_id)
            and (
                policy.system_id == pledge.system_id
                or (policy.include_variants and policy.system_id in chain)
            )
        ]
    return found


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
    "fact_list",
    "policies_bearing_on",
    "policy_list",
    "role_list",
    "roles_prefetch",
    "with_role",
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
