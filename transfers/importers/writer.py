"""The bulk write of an import, through the same services as a single write: records
validated with the models' rules, written with the tracked bulk kernel, then
`transfers.services.records_after_write` (pledges follow deliveries, the ledger) and the
matching of the touched pairs."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.services import Actor, tracked_bulk_create, tracked_bulk_update
from stock.ledger import id_filters
from stock.matching import movements_match
from transfers.importers.drafts import (
    CITATION_FIELDS,
    MODEL_ORDER,
    PARTY_FIELDS,
    CitationDraft,
    RecordDraft,
    RoleDraft,
    RowRefused,
    RowSkipped,
    SourceDraft,
    _canonical,
    compared_fields,
)
from transfers.importers.report import ImportReport
from transfers.importers.resolve import PartyIndex, SystemIndex
from transfers.models import (
    Citation,
    PartyRole,
    Pledge,
    Source,
    Transfer,
)
from transfers.selectors import sources_by_key
from transfers.services import SOURCE_FIELDS, pledge_status_as_stored, records_after_write

if TYPE_CHECKING:
    from transfers.importers.base import Importer


class _Writer:
    """Writes an import one chunk of drafts at a time (inside the import's transaction),
    so that memory stays flat in the size of the file: the indexes of parties, systems,
    sources and keys are kept across chunks, the drafts and instances of a chunk are not.

    Every chunk is validated; once a row is refused (and bad rows are not skipped),
    nothing more is written but the remaining chunks are still validated, so that the
    report lists every refused row; the caller then rolls the transaction back."""

    def __init__(self, importer: Importer, report: ImportReport, *, actor: Actor) -> None:
        self.importer, self.report, self.actor = importer, report, actor
        self.now = timezone.now()
        self.parties = PartyIndex(actor)
        self.systems = SystemIndex(dataset=importer.name)
        self.builder = _Builder()
        self.keys: dict[str, int] = {}  # native format: the keys of pledges -> their ids
        self.touched: set[tuple[int, int]] = set()
        self.by_content: dict[type[models.Model], dict[tuple, list[models.Model]]] = {}

    def write(self, drafts: list[RecordDraft]) -> None:
        report, parties, systems, actor = self.report, self.parties, self.systems, self.actor
        clock = time.perf_counter()
        self.builder.cleaned.clear()  # values cleaned once per chunk: memory stays flat
        self.importer.extra_setup(parties, systems, actor)

        # 1. resolve names and validate each record (in memory: no query per row)
        prepared: list[tuple[RecordDraft, models.Model]] = []
        for draft in drafts:
            if report.refused_rows.intersection(draft.all_lines()):
                continue
            try:
                instance = _instance(draft, parties, systems, self.builder)
            except RowRefused as exc:
                report.refuse(draft.line, exc.field, exc.value, exc.message)
                continue
            except RowSkipped as exc:
                report.skipped.append(f"line {draft.line}: {exc}")
                continue
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    for message in messages:
                        report.refuse(draft.line, name, "", message)
                continue
            prepared.append((draft, instance))
        report.parties_created = list(parties.created)
        clock = report.lap("validate", clock)
        if report.errors and not report.skip_bad_rows:
            return
        prepared = [
            (d, i) for d, i in prepared if not report.refused_rows.intersection(d.all_lines())
        ]

        # 2. systems the file names that the catalogue lacks, in bulk
        wanted = {systems.key(d.system.name) for d, _ in prepared}
        report.systems_created += systems.create_pending(parties, actor, keys=wanted)
        report.names_unresolved = systems.unresolved_created
        report.proposals_created = systems.proposals_created
        for draft, instance in prepared:
            instance.system_id = systems.find(draft.system.name)

        # 3. sources, in bulk, matched by canonical URL or title
        source_ids = _sources(prepared, report, actor, {})
        clock = report.lap("systems and sources", clock)

        # 4. records and citations, per model in order (pledges before the transfers that
        # fulfil them; a file lists them in that order, so earlier chunks hold the pledges)
        by_model: dict[type[models.Model], list[tuple[RecordDraft, models.Model]]] = defaultdict(
            list
        )
        for draft, instance in prepared:
            by_model[draft.model].append((draft, instance))
        for model in MODEL_ORDER:
            batch = by_model.get(model, [])
            if not batch:
                continue
            for draft, instance in batch:
                if draft.pledge_key:
                    instance.pledge_id = self.keys.get(draft.pledge_key)
            written = _records(model, batch, report, source_ids, actor, self.now, self)
            if model in (Pledge, Transfer):
                _roles(model, batch, parties, source_ids, report, actor)
            clock = report.lap("records, citations, history", clock)
            if model is Pledge:  # what later transfers may name as the pledge they fulfil
                for draft, instance in batch:
                    if draft.key and instance.pk:
                        self.keys[draft.key] = instance.pk
            if written:
                # the same rules as a single write (pledges follow deliveries, the ledger),
                # from the instances just written: nothing is read back; matched once at
                # the end
                self.touched |= records_after_write(
                    model=model,
                    ids=list(written),
                    records=written.values(),
                    actor=actor,
                    match=False,
                )
                clock = report.lap("stock ledger", clock)

    def finish(self) -> None:
        """5. the new reports meet the reports of other datasets: one movement, counted
        once."""
        if self.touched and not (self.report.errors and not self.report.skip_bad_rows):
            clock = time.perf_counter()
            self.report.movements = movements_match(self.touched)
            self.report.lap("matching", clock)

    def stored_by_content(self, model: type[models.Model]) -> dict[tuple, list[models.Model]]:
        """The stored records of this model without a key, by content (fields and
        citations); read once per import, before the first of them is written."""
        found = self.by_content.get(model)
        if found is None:
            found = self.by_content[model] = defaultdict(list)
            blank = list(model.objects.filter(external_id=""))
            cites = _citations_of(model, [o.pk for o in blank])
            for obj in blank:
                key = (_comparable(obj, model), _citation_set(cites.get(obj.pk, [])))
                found[key].append(obj)
        return found


class _Builder:
    """Builds and validates the records of one import.

    `full_clean()` as the single-record services run it, minus what is repeated: cleaning
    a field's value (to_python, choices, length, validators) depends on the field and the
    value alone, so each distinct value of each field is cleaned once per import (a
    register repeats its kinds, precisions and quantities thousands of times), and the
    instance is built from positional values (the ORM's fast path)."""

    def __init__(self) -> None:
        self.cleaned: dict[tuple, tuple[Any, ValidationError | None]] = {}
        self.layouts: dict[type[models.Model], tuple[tuple[str, ...], tuple[Any, ...]]] = {}

    def build(self, model: type[models.Model], values: dict[str, Any]) -> models.Model:
        layout = self.layouts.get(model)
        if layout is None:
            fields = model._meta.concrete_fields
            layout = (
                tuple(f.attname for f in fields),
                tuple(None if f.primary_key else f.get_default() for f in fields),
            )
            callable_default = any(callable(f.default) for f in fields if f.has_default())
            self.layouts[model] = layout = layout if not callable_default else ((), ())
        names, defaults = layout
        if not names or not values.keys() <= set(names):
            return model(**values)
        return model(
            *(values.get(name, default) for name, default in zip(names, defaults, strict=True))
        )

    def full_clean(self, instance: models.Model, exclude: set[str]) -> None:
        errors: dict[str, list] = {}
        for f in instance._meta.fields:
            if f.name in exclude or f.generated:
                continue
            raw = getattr(instance, f.attname)
            if f.blank and raw in f.empty_values:
                continue
            try:
                key = (f, type(raw), raw)
                hit = self.cleaned.get(key)
            except TypeError:  # an unhashable value: clean it every time
                key, hit = None, None
            if hit is None:
                try:
                    hit = (f.clean(raw, instance), None)
                except ValidationError as exc:
                    hit = (raw, exc)
                if key is not None:
                    self.cleaned[key] = hit
            value, error = hit
            if error is not None:
                errors[f.name] = error.error_list
            else:
                setattr(instance, f.attname, value)
        if errors:
            errors = ValidationError(errors).update_error_dict({})
        try:
            instance.clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


def _instance(
    draft: RecordDraft, parties: PartyIndex, systems: SystemIndex, builder: _Builder
) -> models.Model:
    model = draft.model
    values = dict(draft.values)
    for name in PARTY_FIELDS[model]:
        ref = draft.parties.get(name)
        values[f"{name}_id"] = parties.resolve(ref[1], column=ref[0]) if ref else None
    ids = [values[f"{name}_id"] for name in PARTY_FIELDS[model] if values[f"{name}_id"]]
    if len(ids) == 2 and ids[0] == ids[1] and ids[0] == parties.find("XXU"):
        raise RowSkipped(f"{model._meta.verbose_name} between two unknown parties")
    systems.need(draft.system)
    values["system_id"] = systems.find(draft.system.name)
    values["external_id"] = draft.external_id
    instance = builder.build(model, values)
    exclude = {*PARTY_FIELDS[model], "system", "external_id"}
    if model is Transfer:
        exclude.add("pledge")
    builder.full_clean(instance, exclude)
    return instance


def _sources(prepared, report: ImportReport, actor: Actor, ids: dict[str, int]) -> dict[str, int]:
    """Adds the ids of the sources this chunk cites to `ids` (found or created)."""
    drafts: dict[str, SourceDraft] = {}
    for draft, _ in prepared:
        for citation in draft.citations:
            if citation.source.key not in ids:
                drafts.setdefault(citation.source.key, citation.source)
    if not drafts:
        return ids
    ids.update(sources_by_key(drafts))
    new = []
    for key, spec in drafts.items():
        if key in ids:
            continue
        source = Source(**{name: getattr(spec, name) for name in SOURCE_FIELDS})
        source.url_canonical = _canonical(source.url) if source.url else ""
        source.title = source.title[:500]
        if source.published_at is not None and source.published_on is None:  # as Source.clean()
            source.published_on = source.published_at.astimezone(dt.UTC).date()
        new.append((key, source))
    if new:
        created = tracked_bulk_create(Source, [s for _, s in new], actor=actor)
        for (key, _), source in zip(new, created, strict=True):
            ids[key] = source.pk
        report.sources_created += len(created)
    return ids


def _external_id_filters(ext_ids: list[str]) -> Iterator[models.Q]:
    """Filters selecting the records with these keys: on PostgreSQL one array parameter
    (`IN (SELECT unnest(...))`) for all of them, elsewhere IN lists of 2,000."""
    if not ext_ids:
        return
    if connection.vendor == "postgresql":
        yield models.Q(external_id__in=RawSQL("SELECT unnest(%s::text[])", [ext_ids]))
        return
    for start in range(0, len(ext_ids), 2000):
        yield models.Q(external_id__in=ext_ids[start : start + 2000])


def _comparable(instance: models.Model, model: type[models.Model]) -> tuple:
    return tuple(getattr(instance, name) for name in compared_fields(model))


def _records(
    model: type[models.Model],
    batch: list[tuple[RecordDraft, models.Model]],
    report: ImportReport,
    source_ids: dict[str, int],
    actor: Actor,
    now: dt.datetime,
    writer: _Writer,
) -> dict[int, models.Model]:
    """Create, update or leave each record; returns the records whose ledger must be
    posted (by id, as written)."""
    name = model._meta.verbose_name
    field = model._meta.model_name
    fields = compared_fields(model)
    existing: dict[str, models.Model] = {}
    ext_ids = [d.external_id for d, _ in batch if d.external_id]
    for query in _external_id_filters(ext_ids):
        for obj in model.objects.filter(query):
            existing[obj.external_id] = obj
    # Records without a key (entered by hand, exported natively) are the same record when
    # everything about them, citations included, is the same.
    by_content: dict[tuple, list[models.Model]] = {}
    if any(not d.external_id for d, _ in batch):
        by_content = writer.stored_by_content(model)

    delivered: set[int] = set()
    if model is Pledge and existing:
        fulfilled = Transfer.objects.filter(pledge_id__in=[o.pk for o in existing.values()])
        delivered = set(fulfilled.values_list("pledge_id", flat=True))

    to_create: list[tuple[RecordDraft, models.Model]] = []
    to_update: list[tuple[RecordDraft, models.Model]] = []
    changed_fields: set[str] = set()
    kept: list[tuple[RecordDraft, models.Model]] = []
    for draft, instance in batch:
        if not draft.external_id:
            wanted = _citation_set(
                [(source_ids[c.source.key], *c.values()) for c in draft.citations]
            )
            matches = by_content.get((_comparable(instance, model), wanted))
            if matches:
                stored = matches.pop(0)
                instance.pk = stored.pk
                report.unchanged[name] += 1
                continue
            to_create.append((draft, instance))
            continue
        stored = existing.get(draft.external_id)
        if stored is None:
            to_create.append((draft, instance))
            continue
        if model is Pledge:
            instance.status = pledge_status_as_stored(
                status=instance.status,
                stored_status=stored.status,
                has_deliveries=stored.pk in delivered,
            )
        diff = [f for f in fields if getattr(stored, f) != getattr(instance, f)]
        instance.pk = stored.pk
        if diff:
            for f in diff:
                setattr(stored, f, getattr(instance, f))
            stored.updated_at = now
            changed_fields.update(diff)
            to_update.append((draft, stored))
        else:
            kept.append((draft, stored))

    written: dict[int, models.Model] = {}
    if to_create:
        created = tracked_bulk_create(model, [i for _, i in to_create], actor=actor)
        for (_draft, instance), obj in zip(to_create, created, strict=True):
            instance.pk = obj.pk
            written[obj.pk] = obj
        report.created[name] += len(created)
        new_citations = [
            _citation(source_ids[c.source.key], field, instance.pk, c)
            for draft, instance in to_create
            for c in draft.citations
        ]
        tracked_bulk_create(Citation, new_citations, actor=actor)
        report.citations_created += len(new_citations)
    if to_update:
        fields_to_write = sorted(
            {f.removesuffix("_id") if f.endswith("_id") else f for f in changed_fields}
        )
        # bulk_update wants field names; foreign keys by their name, not attname
        tracked_bulk_update(
            model, [i for _, i in to_update], [*fields_to_write, "updated_at"], actor=actor
        )
        report.updated[name] += len(to_update)
        written.update((i.pk, i) for _, i in to_update)

    # citations of stored records: the same file changes nothing; a newer release
    # re-points and rewrites the dataset citation of the rows that changed
    stored_pairs = [*to_update, *kept]
    recited = _sync_citations(model, stored_pairs, source_ids, report, actor)
    for _draft, obj in kept:
        if obj.pk in recited:
            report.updated[name] += 1
            written[obj.pk] = obj
        else:
            report.unchanged[name] += 1
    return written


_CITATION_COLUMNS = tuple(f.attname for f in Citation._meta.concrete_fields)
_CITATION_BLANK = dict.fromkeys(_CITATION_COLUMNS)


def _citation(source_id: int, record_field: str, record_id: int, spec: CitationDraft) -> Citation:
    """A new Citation built from positional values (every concrete field, in order): many
    times cheaper than keyword arguments for tens of thousands of citations."""
    values = dict(_CITATION_BLANK)
    values["source_id"] = source_id
    values[f"{record_field}_id"] = record_id
    for name in CITATION_FIELDS:
        values[name] = getattr(spec, name)
    return Citation(*values.values())


def _citations_of(model, ids: Iterable[int]) -> dict[int, list[tuple]]:
    field = model._meta.model_name
    found: dict[int, list[tuple]] = defaultdict(list)
    ids = list(ids)
    for query in id_filters(f"{field}_id", ids):
        for row in Citation.objects.filter(query).values_list(
            f"{field}_id", "source_id", *CITATION_FIELDS
        ):
            found[row[0]].append(row[1:])
    return found


def _citation_set(rows: Iterable[tuple]) -> tuple:
    return tuple(sorted(rows, key=repr))


def _sync_citations(model, pairs, source_ids, report: ImportReport, actor: Actor) -> set[int]:
    """Make the stored records' citations say what the file says. Returns the ids of
    records whose citations changed."""
    if not pairs:
        return set()
    field = model._meta.model_name
    ids = [obj.pk for _, obj in pairs]
    stored: dict[int, list[Citation]] = defaultdict(list)
    for query in id_filters(f"{field}_id", ids):
        for citation in Citation.objects.filter(query).select_related("source"):
            stored[getattr(citation, f"{field}_id")].append(citation)
    to_create: list[Citation] = []
    to_update: list[Citation] = []
    changed: set[int] = set()
    for draft, obj in pairs:
        mine = stored.get(obj.pk, [])
        for spec in draft.citations:
            source_id = source_ids[spec.source.key]
            same = next((c for c in mine if c.source_id == source_id), None)
            if same is None and spec.family:
                same = next(
                    (
                        c
                        for c in mine
                        if c.source.title.startswith(spec.family) and c.excerpt != spec.excerpt
                    ),
                    None,
                )
                if same is None and any(
                    c.source.title.startswith(spec.family) and c.excerpt == spec.excerpt
                    for c in mine
                ):
                    continue  # an earlier release says exactly this: it still supports it
            if same is None:
                to_create.append(
                    Citation(
                        source_id=source_id,
                        **{f"{field}_id": obj.pk},
                        **{n: getattr(spec, n) for n in CITATION_FIELDS},
                    )
                )
                changed.add(obj.pk)
                continue
            values = {n: getattr(spec, n) for n in CITATION_FIELDS}
            if same.source_id != source_id or any(getattr(same, n) != v for n, v in values.items()):
                same.source_id = source_id
                for n, v in values.items():
                    setattr(same, n, v)
                to_update.append(same)
                changed.add(obj.pk)
    if to_create:
        tracked_bulk_create(Citation, to_create, actor=actor)
        report.citations_created += len(to_create)
    if to_update:
        tracked_bulk_update(Citation, to_update, ["source", *CITATION_FIELDS], actor=actor)
        report.citations_updated += len(to_update)
    return changed


def _roles(
    model, batch, parties: PartyIndex, source_ids, report: ImportReport, actor: Actor
) -> None:
    """The other parties a dataset states for the records just written (issue 17): each a
    PartyRole cited to the row's source with the comment's words, graded as the row is.
    A name that is no known party, or that is already the donor or recipient, is left out
    (the words stay in the notes); a re-import adds nothing."""
    field = model._meta.model_name
    wanted: list[tuple[int, int, str, RoleDraft, CitationDraft]] = []
    for draft, instance in batch:
        if not draft.roles or instance.pk is None or not draft.citations:
            continue
        for spec in draft.roles:
            party_id = parties.find(spec.party)
            if party_id is None or party_id in (instance.donor_id, instance.recipient_id):
                continue
            wanted.append((instance.pk, party_id, spec.role, spec, draft.citations[0]))
    if not wanted:
        return
    stored = set(
        PartyRole.objects.filter(**{f"{field}_id__in": {w[0] for w in wanted}}).values_list(
            f"{field}_id", "party_id", "role"
        )
    )
    new: list[tuple[PartyRole, RoleDraft, CitationDraft]] = []
    for record_id, party_id, role, spec, cited in wanted:
        if (record_id, party_id, role) in stored:
            continue
        stored.add((record_id, party_id, role))
        new.append(
            (PartyRole(**{f"{field}_id": record_id}, party_id=party_id, role=role), spec, cited)
        )
    if not new:
        return
    created = tracked_bulk_create(PartyRole, [r for r, _, _ in new], actor=actor)
    citations = []
    for role_row, (_, spec, cited) in zip(created, new, strict=True):
        citation = _citation(source_ids[cited.source.key], "party_role", role_row.pk, cited)
        citation.excerpt = spec.excerpt
        citations.append(citation)
    tracked_bulk_create(Citation, citations, actor=actor)
    report.citations_created += len(citations)
    report.roles_created += len(created)
