"""What each sourced record posts to the stock ledger (`stock.ledger`).

| record | ledger rows |
| --- | --- |
| holding, in inventory | `baseline` for the holder |
| holding, contracted | `ordered` for the holder |
| holding, produced | `produced` for the holder |
| transfer | `sent` for the donor and `received` for the recipient (`via_contract` when its basis is a contract) |
| expenditure | `expended` for the holder |
| pledge, announced or partially delivered | `pledged_in` for the recipient and `pledged_out` for a disclosed donor, for what is not yet delivered: the pledge minus its deliveries |
| authorization, and pledges under discussion, delivered or withdrawn | nothing |

Each row carries the record's best citation grade (contradicting citations aside; empty
when unsourced). `records_post_ledger` posts many records with a handful of queries, so the
importers use the same path as a single save.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db import models, transaction

from stock.choices import LedgerKind
from stock.estimates import Range, counted, range_minus, range_sum
from stock.ledger import (
    EntrySpec,
    Origin,
    Rebuilder,
    id_filters,
    ledger_post,
    register_rebuilder,
)
from stock.matching import movements_match
from transfers.choices import HoldingKind, Stance, TransferBasis
from transfers.models import Citation, Expenditure, Holding, Pledge, Transfer
from transfers.records import LEDGER_MODELS
from transfers.selectors import OPEN_PLEDGE_STATUSES

HOLDING_KINDS = {
    HoldingKind.IN_INVENTORY: LedgerKind.BASELINE,
    HoldingKind.CONTRACTED: LedgerKind.ORDERED,
    HoldingKind.PRODUCED: LedgerKind.PRODUCED,
}
RELATED = {
    Holding: ("holder", "system", "supplier"),
    Pledge: ("donor", "recipient", "system"),
    Transfer: ("donor", "recipient", "system"),
    Expenditure: ("holder", "system"),
}


def origin_of(record: models.Model) -> Origin:
    return (record._meta.label_lower, record.pk)


def _grades(model: type[models.Model], ids: list[int]) -> dict[int, str]:
    field = model._meta.model_name
    best: dict[int, str] = {}
    for query in id_filters(f"{field}_id", ids):
        rows = (
            Citation.objects.filter(query)
            .exclude(stance=Stance.CONTRADICTS)
            .values_list(f"{field}_id", "reliability", "source__reliability", "credibility")
        )
        for record_id, reliability, source_reliability, credibility in rows:
            grade = f"{reliability or source_reliability or 'F'}{credibility}"
            if record_id not in best or grade < best[record_id]:
                best[record_id] = grade
    return best


def _delivered(pledge_ids: list[int]) -> dict[int, Range]:
    parts: dict[int, list[Range]] = defaultdict(list)
    for query in id_filters("pledge_id", pledge_ids):
        rows = Transfer.objects.filter(query).values_list(
            "pledge_id", "quantity_low", "quantity_high"
        )
        for pledge_id, low, high in rows:
            parts[pledge_id].append(counted(low, high))
    return {pledge_id: range_sum(ranges) for pledge_id, ranges in parts.items()}


def _label(record) -> str:
    return f"{record._meta.verbose_name.capitalize()} #{record.pk}: {record}"


def _spec(record, label: str, holder_id: int, kind: str, grade: str, **overrides) -> EntrySpec:
    fields = {
        "holder_id": holder_id,
        "system_id": record.system_id,
        "kind": kind,
        "quantity_low": record.quantity_low,
        "quantity_high": record.quantity_high,
        "quantity_text": record.quantity_text,
        "date": record.date,
        "date_precision": record.date_precision,
        "date_end": record.date_end,
        "origin_label": label,
        "grade": grade,
    }
    fields.update(overrides)
    return EntrySpec(**fields)


def ledger_entries(record, grade: str, delivered: Range | None = None) -> list[EntrySpec]:
    """The ledger rows one record posts (see the table above)."""
    if isinstance(record, Holding):
        return [_spec(record, _label(record), record.holder_id, HOLDING_KINDS[record.kind], grade)]
    if isinstance(record, Transfer):
        contract = record.basis == TransferBasis.CONTRACT
        label = _label(record)
        return [
            _spec(record, label, record.donor_id, LedgerKind.SENT, grade),
            _spec(
                record,
                label,
                record.recipient_id,
                LedgerKind.RECEIVED,
                grade,
                via_contract=contract,
            ),
        ]
    if isinstance(record, Expenditure):
        return [_spec(record, _label(record), record.holder_id, LedgerKind.EXPENDED, grade)]
    if isinstance(record, Pledge):
        if record.status not in OPEN_PLEDGE_STATUSES:
            return []
        pledged = counted(record.quantity_low, record.quantity_high)
        outstanding, _ = range_minus(pledged, delivered or Range(0, 0))
        if outstanding.high == 0:
            return []
        text = record.quantity_text if delivered is None else f"{outstanding} outstanding"
        open_part = {
            "quantity_low": outstanding.low,
            "quantity_high": outstanding.high,
            "quantity_text": text,
        }
        label = _label(record)
        entries = [
            _spec(record, label, record.recipient_id, LedgerKind.PLEDGED_IN, grade, **open_part)
        ]
        if record.donor_id is not None:
            entries.append(
                _spec(record, label, record.donor_id, LedgerKind.PLEDGED_OUT, grade, **open_part)
            )
        return entries
    return []


def _attach_related(model: type[models.Model], records: list[models.Model]) -> None:
    """Cache the parties and system of records held in memory (one query per related
    model), so their labels read as they do when loaded with select_related."""
    for name in RELATED[model]:
        field = model._meta.get_field(name)
        ids = {getattr(record, field.attname) for record in records} - {None}
        related = field.related_model._default_manager.in_bulk(ids)
        for record in records:
            value = getattr(record, field.attname)
            field.set_cached_value(record, related.get(value) if value is not None else None)


def _postings_of(model: type[models.Model], records: list[models.Model]):
    ids = [record.pk for record in records]
    grades = _grades(model, ids)
    delivered = _delivered(ids) if model is Pledge else {}
    return {
        origin_of(record): ledger_entries(
            record, grades.get(record.pk, ""), delivered.get(record.pk)
        )
        for record in records
    }


def _postings(model: type[models.Model], queryset) -> dict[Origin, list[EntrySpec]]:
    return _postings_of(model, list(queryset.select_related(*RELATED[model])))


class _OneWrite:
    """What the records of one write will post, collected until the write ends."""

    def __init__(self) -> None:
        self.ids: dict[type[models.Model], set[int]] = defaultdict(set)
        self.given: dict[type[models.Model], dict[int, models.Model]] = defaultdict(dict)
        self.match = False


_write = threading.local()


@contextlib.contextmanager
def ledger_posted_once(*, savepoint: bool = True) -> Iterator[None]:
    """One write, one ledger post: inside this block (and the transaction it opens),
    `records_post_ledger` only collects; when the outermost block ends without an error, the
    collected records (a record and its citations, the pledge a transfer fulfils, …) post
    together — one `ledger_post`, one matching — still inside the transaction. A record with
    1,000 citations is regraded once, not 1,000 times. The services open it for each write;
    the API's serializers and the admin's change form open it around a whole request.

    Each block is `transaction.atomic(savepoint=savepoint)`: a nested one is a savepoint, as
    the services' own blocks were, so a caller may catch a refusal and go on."""
    if getattr(_write, "current", None) is not None:
        with transaction.atomic(savepoint=savepoint):
            yield
        return
    with transaction.atomic(savepoint=savepoint):
        _write.current = pending = _OneWrite()
        try:
            yield
        finally:
            _write.current = None
        if pending.ids:
            _post(pending.ids, pending.given, match=pending.match)


def records_post_ledger(
    model: type[models.Model],
    ids: Iterable[int],
    *,
    records: Iterable[models.Model] = (),
    match: bool = True,
) -> set[tuple[int, int]]:
    """(Re)post the ledger rows of these records; ids of deleted records cancel their rows.

    `records` are instances of some of these ids exactly as just written (the importers
    pass what they bulk-wrote): they are posted from memory instead of being read back;
    the other ids are read from the database. Then the reports in the touched pairs are
    matched into movements (`stock.matching.movements_match`), unless `match=False` (an
    import matches once, after all its models are posted).

    Inside `ledger_posted_once()` nothing is posted yet (and the empty set is returned):
    the ids join the write's one post at the end of the block.
    """
    if model not in LEDGER_MODELS:
        return set()
    ids = set(ids)
    given = {record.pk: record for record in records if record.pk is not None}
    pending = getattr(_write, "current", None)
    if pending is None:
        return _post({model: ids}, {model: given}, match=match)
    pending.ids[model] |= ids
    for pk in ids:  # the latest word on a record: as given now, else read at the end
        if pk in given:
            pending.given[model][pk] = given[pk]
        else:
            pending.given[model].pop(pk, None)
    pending.match |= match
    return set()


def _post(
    ids: dict[type[models.Model], set[int]],
    given: dict[type[models.Model], dict[int, models.Model]],
    *,
    match: bool,
) -> set[tuple[int, int]]:
    postings: dict[Origin, list[EntrySpec]] = {}
    for model, model_ids in ids.items():
        model_ids = sorted(model_ids)
        in_memory = given.get(model, {})
        postings.update(dict.fromkeys(((model._meta.label_lower, pk) for pk in model_ids), []))
        known = [in_memory[pk] for pk in model_ids if pk in in_memory]
        if known:
            _attach_related(model, known)
            postings.update(_postings_of(model, known))
        missing = [pk for pk in model_ids if pk not in in_memory]
        for start in range(0, len(missing), 2000):
            chunk = missing[start : start + 2000]
            postings.update(_postings(model, model.objects.filter(pk__in=chunk)))
    stale = ledger_post(postings)
    if match:  # also unchanged rows: a new citation can change a record's dataset
        posted = {(spec.holder_id, spec.system_id) for specs in postings.values() for spec in specs}
        movements_match(stale | posted)
    return stale


def all_postings(chunk_size: int = 5000):
    """Every record's entries, a chunk at a time, for the full rebuild."""
    for model in LEDGER_MODELS:
        pks = model.objects.order_by("pk").values_list("pk", flat=True)
        chunk: list[int] = []
        for pk in pks.iterator(chunk_size=chunk_size):
            chunk.append(pk)
            if len(chunk) >= chunk_size:
                yield _postings(model, model.objects.filter(pk__in=chunk))
                chunk = []
        if chunk:
            yield _postings(model, model.objects.filter(pk__in=chunk))


def existing_records(model_label: str, ids: list[int]) -> set[int]:
    model = next(m for m in LEDGER_MODELS if m._meta.label_lower == model_label)
    return set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))


def origin_records(model_label: str, ids: list[int]) -> dict[int, models.Model]:
    """Records with their citations (and the citations' sources) as the list
    `explained_citations` (three queries), for "why this number": what it shows of a record
    is its type, its id and its citations (its label is the ledger row's). Not their parties,
    roles or system: for the biggest holder × system, loading those was most of the
    explanation's time; and a list, not a prefetched manager (a queryset built per record)."""
    from django.db.models import Prefetch

    model = next(m for m in LEDGER_MODELS if m._meta.label_lower == model_label)
    records = model.objects.filter(pk__in=ids).prefetch_related(
        Prefetch("citations", to_attr="explained_citations"), "explained_citations__source"
    )
    return {record.pk: record for record in records}


def origin_datasets(model_label: str, ids: list[int]) -> dict[int, str]:
    """The dataset each record reports for (`stock.matching`): the prefix of its external
    id for imported rows ("sipri", "sipri-classic", "kiel", "oryx-supplied", "demo"), the
    first source it cites for records entered by hand ("source:12": one article's records
    add up; another outlet's report of the same movement does not). Records that cite
    nothing are one dataset, "unsourced": they add up, as before any matching."""
    from django.db.models import Min

    model = next(m for m in LEDGER_MODELS if m._meta.label_lower == model_label)
    field = model._meta.model_name
    found: dict[int, str] = {}
    manual: list[int] = []
    for pk, external_id in model.objects.filter(pk__in=ids).values_list("pk", "external_id"):
        if external_id:
            found[pk] = external_id.split(":", 1)[0]
        else:
            manual.append(pk)
    for start in range(0, len(manual), 2000):
        rows = (
            Citation.objects.filter(**{f"{field}_id__in": manual[start : start + 2000]})
            .values(f"{field}_id")
            .annotate(first=Min("source_id"))
            .values_list(f"{field}_id", "first")
        )
        for pk, source_id in rows:
            found[pk] = f"source:{source_id}"
    for pk in manual:
        found.setdefault(pk, "unsourced")
    return found


# The two SIPRI export formats are editions of one register (the same deals under two
# keys): the classic export (Mar 2025) and the 2026 one (Feb 2026). Once both are in, the
# newer counts alone (docs/reconciliation.md).
SIPRI_EDITIONS = {"sipri-classic": ("sipri", 2025), "sipri": ("sipri", 2026)}


def register() -> None:
    from stock.matching import register_editions

    register_editions(SIPRI_EDITIONS)
    register_rebuilder(
        Rebuilder(
            batches=all_postings,
            existing=existing_records,
            models=tuple(m._meta.label_lower for m in LEDGER_MODELS),
            records=origin_records,
            datasets=origin_datasets,
        )
    )
