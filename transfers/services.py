"""Every write to the sourced records and their evidence.

The admin, the API, the importers and the tasks all call these functions, so validation,
history (and, later, the stock ledger) cannot be skipped by one door. Each function is
keyword-only, validates with full_clean() and runs in one transaction: when it refuses,
nothing is written. Each write posts the stock ledger once, at its end, for everything it
touched (`transfers.ledger.ledger_posted_once`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from core.services import Actor, tracked_bulk_update, tracked_delete, tracked_save
from transfers.choices import PledgeStatus
from transfers.ledger import ledger_posted_once, records_post_ledger
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
from transfers.selectors import source_find

R = TypeVar("R", bound=models.Model)
CitationSpec = Mapping[str, Any]

SOURCE_FIELDS = (
    "url",
    "title",
    "publisher",
    "author",
    "published_at",
    "published_on",
    "published_precision",
    "retrieved_at",
    "archive_url",
    "content_sha256",
    "source_type",
    "reliability",
    "notes",
)


# -- sources --------------------------------------------------------------------------------


def source_create(*, url: str, title: str, actor: Actor = None, **fields: Any) -> Source:
    return tracked_save(Source(url=url, title=title, **fields), actor=actor)


def source_update(*, source: Source, actor: Actor = None, **fields: Any) -> Source:
    for name, value in fields.items():
        setattr(source, name, value)
    return tracked_save(source, actor=actor)


def source_get_or_create(
    *, url: str = "", actor: Actor = None, **defaults: Any
) -> tuple[Source, bool]:
    """The source with this canonical URL (or, without a URL, this title), or a new one
    from `defaults` (title required)."""
    existing = source_find(url=url, title=defaults.get("title", ""))
    if existing is not None:
        return existing, False
    if not defaults.get("title"):
        raise ValidationError({"title": f"A new source ({url}) needs a title."})
    return source_create(url=url, actor=actor, **defaults), True


def source_delete(*, source: Source, actor: Actor = None) -> None:
    if source.citations.exists():
        raise ValidationError(
            f"Source {source.pk} ({source.url}) is cited by {source.citations.count()} "
            "record(s); remove those citations first."
        )
    tracked_delete(source, actor=actor)


# -- citations ------------------------------------------------------------------------------


def _record_field(record: models.Model) -> str:
    name = {"partyrole": "party_role", "systemfact": "system_fact"}.get(
        record._meta.model_name, record._meta.model_name
    )
    if name not in CITED_FIELDS:
        raise ValidationError(f"{record._meta.verbose_name} records do not carry citations.")
    return name


def _citation_regrade(citation: Citation, *, before: models.Model | None = None) -> None:
    """A citation's grade is part of its record's ledger rows: re-post them."""
    for record in {citation.record, before} - {None}:
        records_post_ledger(type(record), [record.pk])


def citation_create(
    *,
    record: models.Model,
    source: Source | Mapping[str, Any],
    actor: Actor = None,
    **fields: Any,
) -> Citation:
    """Cite `source` (a Source, or the fields of one, matched by canonical URL) for `record`."""
    with ledger_posted_once():
        if not isinstance(source, Source):
            spec = dict(source)
            source, _ = source_get_or_create(actor=actor, **spec)
        citation = Citation(source=source, **{_record_field(record): record}, **fields)
        tracked_save(citation, actor=actor)
        _citation_regrade(citation)
        return citation


def _citation_before(citation: Citation) -> models.Model | None:
    if citation.pk is None:
        return None
    stored = Citation.objects.filter(pk=citation.pk).first()
    return stored.record if stored is not None else None


def citation_save(*, citation: Citation, actor: Actor = None) -> Citation:
    """Save a citation whose fields are already set (the admin's inline rows)."""
    with ledger_posted_once():
        before = _citation_before(citation)
        tracked_save(citation, actor=actor)
        _citation_regrade(citation, before=before)
    return citation


def citation_update(*, citation: Citation, actor: Actor = None, **fields: Any) -> Citation:
    for name, value in fields.items():
        setattr(citation, name, value)
    return citation_save(citation=citation, actor=actor)


def citation_delete(*, citation: Citation, actor: Actor = None) -> None:
    with ledger_posted_once():
        record = citation.record
        tracked_delete(citation, actor=actor)
        if record is not None:
            records_post_ledger(type(record), [record.pk])


# -- records --------------------------------------------------------------------------------


def _stored_pledge_id(record: models.Model) -> int | None:
    """The pledge a stored transfer fulfilled before this write (to re-post it too)."""
    if isinstance(record, Transfer) and record.pk is not None:
        return Transfer.objects.filter(pk=record.pk).values_list("pledge_id", flat=True).first()
    return None


def _after_record_write(
    record: models.Model, *, actor: Actor = None, previous_pledge_id: int | None = None
) -> None:
    records_after_write(
        model=type(record),
        ids=[record.pk],
        actor=actor,
        previous_pledge_ids=[previous_pledge_id] if previous_pledge_id else (),
    )


# Statuses a delivery moves on: a pledge with a delivery is at least partially delivered.
PLEDGE_STATUSES_BEFORE_DELIVERY = (PledgeStatus.UNDER_DISCUSSION, PledgeStatus.ANNOUNCED)


def records_after_write(
    *,
    model: type[models.Model],
    ids: Iterable[int],
    records: Iterable[models.Model] = (),
    actor: Actor = None,
    previous_pledge_ids: Iterable[int] = (),
    match: bool = True,
) -> set[tuple[int, int]]:
    """What every write of records does once their rows are saved, for one record (the
    services above) or a whole batch (the importers, with `records` as just written so
    nothing is read back): pledges follow their deliveries, and the records, and the
    pledges they fulfil (or fulfilled before the write), post their stock-ledger rows.
    One rule, whichever door the records came through. The touched holder × system pairs
    are matched into movements (`stock.matching`) unless `match=False` (an import matches
    once, after all its models are written); returns them."""
    ids = list(ids)
    records = list(records)
    pledges = set(previous_pledge_ids)
    if model is Transfer:
        if records:
            fulfilled = {record.pledge_id for record in records if record.pledge_id}
        else:
            rows = Transfer.objects.filter(pk__in=ids, pledge__isnull=False)
            fulfilled = set(rows.values_list("pledge_id", flat=True))
        pledges_follow_deliveries(pledge_ids=fulfilled, actor=actor)
        pledges |= fulfilled
    touched = records_post_ledger(model, ids, records=records, match=match)
    if pledges:
        touched |= records_post_ledger(Pledge, pledges, match=match)
    return touched


def pledges_follow_deliveries(*, pledge_ids: Iterable[int], actor: Actor = None) -> int:
    """Pledges under discussion or announced that now have a delivery become partially
    delivered (one history row each). Returns how many changed."""
    pledge_ids = set(pledge_ids)
    if not pledge_ids:
        return 0
    pledges = list(
        Pledge.objects.filter(
            pk__in=pledge_ids,
            status__in=PLEDGE_STATUSES_BEFORE_DELIVERY,
            deliveries__isnull=False,
        ).distinct()
    )
    for pledge in pledges:
        pledge.status = PledgeStatus.PARTIALLY_DELIVERED
    if pledges:
        tracked_bulk_update(Pledge, pledges, ["status"], actor=actor)
    return len(pledges)


def pledge_status_as_stored(*, status: str, stored_status: str, has_deliveries: bool) -> str:
    """The status a re-stated pledge keeps: a source that still says "announced" does not
    undo the deliveries recorded since (the importers compare with this, so a re-import of
    the same file changes nothing)."""
    if (
        has_deliveries
        and status in PLEDGE_STATUSES_BEFORE_DELIVERY
        and stored_status == PledgeStatus.PARTIALLY_DELIVERED
    ):
        return stored_status
    return status


def record_create(
    *,
    model: type[R],
    actor: Actor = None,
    citations: Iterable[CitationSpec] = (),
    **fields: Any,
) -> R:
    """Create a record of `model` with its citations, all or nothing; one ledger post."""
    with ledger_posted_once():
        record = tracked_save(model(**fields), actor=actor)
        for spec in citations:
            citation_create(record=record, actor=actor, **spec)
        _after_record_write(record, actor=actor)
    return record


def record_save(*, record: R, actor: Actor = None) -> R:
    """Save a record whose fields are already set (the admin's forms)."""
    with ledger_posted_once():
        previous = _stored_pledge_id(record)
        tracked_save(record, actor=actor)
        _after_record_write(record, actor=actor, previous_pledge_id=previous)
    return record


def record_update(*, record: R, actor: Actor = None, **fields: Any) -> R:
    """Change fields of a record; unknown field names are refused."""
    known = {field.name for field in record._meta.get_fields()}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValidationError(
            {name: f"{name!r} is not a field of {record._meta.verbose_name}." for name in unknown}
        )
    with ledger_posted_once():
        previous = _stored_pledge_id(record)
        for name, value in fields.items():
            setattr(record, name, value)
        tracked_save(record, actor=actor)
        _after_record_write(record, actor=actor, previous_pledge_id=previous)
    return record


def record_delete(*, record: models.Model, actor: Actor = None) -> None:
    """Delete a record and its citations; the history of both stays."""
    if isinstance(record, Pledge) and record.deliveries.exists():
        raise ValidationError(
            f"Pledge {record.pk} is fulfilled by {record.deliveries.count()} transfer(s); "
            "unlink or delete them first."
        )
    model, pk = type(record), record.pk
    pledge_id = getattr(record, "pledge_id", None)
    with ledger_posted_once():
        for role in getattr(record, "roles", PartyRole.objects.none()).all():
            party_role_delete(role=role, actor=actor)
        for citation in Citation.objects.filter(**{_record_field(record): record}):
            tracked_delete(citation, actor=actor)
        tracked_delete(record, actor=actor)
        records_post_ledger(model, [pk])
        if pledge_id is not None:
            records_post_ledger(Pledge, [pledge_id])


def holding_create(
    *, actor: Actor = None, citations: Iterable[CitationSpec] = (), **fields: Any
) -> Holding:
    return record_create(model=Holding, actor=actor, citations=citations, **fields)


def pledge_create(
    *, actor: Actor = None, citations: Iterable[CitationSpec] = (), **fields: Any
) -> Pledge:
    return record_create(model=Pledge, actor=actor, citations=citations, **fields)


def transfer_create(
    *, actor: Actor = None, citations: Iterable[CitationSpec] = (), **fields: Any
) -> Transfer:
    return record_create(model=Transfer, actor=actor, citations=citations, **fields)


def expenditure_create(
    *, actor: Actor = None, citations: Iterable[CitationSpec] = (), **fields: Any
) -> Expenditure:
    return record_create(model=Expenditure, actor=actor, citations=citations, **fields)


def authorization_create(
    *, actor: Actor = None, citations: Iterable[CitationSpec] = (), **fields: Any
) -> Authorization:
    return record_create(model=Authorization, actor=actor, citations=citations, **fields)


def pledge_set_status(*, pledge: Pledge, status: str, actor: Actor = None) -> Pledge:
    return record_update(record=pledge, actor=actor, status=status)


def pledge_mark_delivered(*, pledge: Pledge, actor: Actor = None) -> Pledge:
    return pledge_set_status(pledge=pledge, status=PledgeStatus.DELIVERED, actor=actor)


def records_move_system(from_id: int, to_id: int, actor: Actor = None) -> int:
    """Move every record of one weapon system to another (the catalogue merging a dataset's
    name into its entry): one bulk update with history per record type, and the ledger of
    the moved records re-posted (their old rows cancelled, the estimates of both systems
    marked stale). Returns the number of records moved."""
    from django.utils import timezone

    from core.services import tracked_bulk_update
    from transfers.models import RECORD_MODELS

    moved = 0
    now = timezone.now()
    with ledger_posted_once():
        for model in RECORD_MODELS:
            records = list(model.objects.filter(system_id=from_id))
            if not records:
                continue
            for record in records:
                record.system_id = to_id
                record.updated_at = now
            tracked_bulk_update(model, records, ["system", "updated_at"], actor=actor)
            records_post_ledger(model, [r.pk for r in records], records=records)
            moved += len(records)
    return moved


def policy_create(
    *, actor: Actor = None, citations: Iterable[CitationSpec] = (), **fields: Any
) -> Policy:
    return record_create(model=Policy, actor=actor, citations=citations, **fields)


# -- party roles: who else takes part in a pledge or transfer ----------------------------------


def _claim_cite(claim: models.Model, citations: Iterable[CitationSpec], actor: Actor) -> None:
    for spec in citations:
        citation_create(record=claim, actor=actor, **spec)  # claims post no ledger rows


def party_role_create(
    *,
    movement: Pledge | Transfer,
    party,
    role: str,
    actor: Actor = None,
    citations: Iterable[CitationSpec] = (),
    notes: str = "",
) -> PartyRole:
    """Name a party's role in a pledge or transfer (it arranges, finances, consents to the
    re-export, passes it on, or first supplied the system), with its citations."""
    if not isinstance(movement, Pledge | Transfer):
        raise ValidationError(
            {"movement": f"A party role belongs to a pledge or a transfer, not to {movement!r}."}
        )
    with transaction.atomic():
        field = movement._meta.model_name
        role_row = PartyRole(**{field: movement}, party=party, role=role, notes=notes)
        tracked_save(role_row, actor=actor)
        _claim_cite(role_row, citations, actor)
    return role_row


def party_role_save(*, role: PartyRole, actor: Actor = None) -> PartyRole:
    """Save a role whose fields are already set (the admin's inline rows and forms)."""
    return tracked_save(role, actor=actor)


def party_role_delete(*, role: PartyRole, actor: Actor = None) -> None:
    """Delete a role and its citations; the history of both stays."""
    with transaction.atomic():
        for citation in role.citations.all():
            tracked_delete(citation, actor=actor)
        tracked_delete(role, actor=actor)


# -- cited facts about catalogue entries ------------------------------------------------------


def system_fact_save(*, fact: SystemFact, actor: Actor = None, apply: bool = True) -> SystemFact:
    """Save a fact whose fields are set; with `apply`, the catalogue entry takes its value
    (manufacturer, origin, range in km or counting unit) through the catalogue's service,
    so the system's own history shows the change too."""
    from inventory.services import weapon_system_update

    with transaction.atomic():
        tracked_save(fact, actor=actor)
        if apply:
            name = SystemFact.CATALOGUE_FIELD[fact.kind]
            system = fact.system
            if getattr(system, name) != fact.catalogue_value:
                weapon_system_update(system=system, actor=actor, **{name: fact.catalogue_value})
    return fact


def system_fact_create(
    *,
    system,
    kind: str,
    actor: Actor = None,
    citations: Iterable[CitationSpec] = (),
    apply: bool = True,
    **fields: Any,
) -> SystemFact:
    """A cited fact about a system (docs/records.md), all or nothing."""
    with transaction.atomic():
        fact = system_fact_save(
            fact=SystemFact(system=system, kind=kind, **fields), actor=actor, apply=apply
        )
        _claim_cite(fact, citations, actor)
    return fact


def system_fact_update(
    *, fact: SystemFact, actor: Actor = None, apply: bool = True, **fields: Any
) -> SystemFact:
    known = {field.name for field in SystemFact._meta.get_fields()}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValidationError(
            {name: f"{name!r} is not a field of a system fact." for name in unknown}
        )
    for name, value in fields.items():
        setattr(fact, name, value)
    if (
        fact.kind == "range"
        and {"range_value", "range_unit"}.isdisjoint(fields)
        and "wording" in fields
    ):
        fact.range_value, fact.range_unit = None, ""  # read the new wording
    return system_fact_save(fact=fact, actor=actor, apply=apply)


def system_fact_delete(*, fact: SystemFact, actor: Actor = None) -> None:
    """Delete a fact and its citations (the catalogue entry keeps its value)."""
    with transaction.atomic():
        for citation in fact.citations.all():
            tracked_delete(citation, actor=actor)
        tracked_delete(fact, actor=actor)
