"""The stock ledger: the seam between the sourced records and the estimates.

A record that moves stock (in `transfers`) describes its movements as `EntrySpec`s and
posts them here with `ledger_post`, in the same transaction as its own write. Posting
cancels the origin's previous rows, writes the new ones, marks the affected holder × system
pairs stale, and (after commit) asks a worker to refresh them. `inventory` never imports
`transfers`: the full rebuild calls back into it through `register_rebuilder`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.enqueue import enqueue
from core.services import rows_insert
from core.values import date_interval
from stock.models import LedgerEntry, StaleEstimate

logger = logging.getLogger(__name__)

Pair = tuple[int, int]
Origin = tuple[str, int]


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """One ledger row to post. `quantity_low=None` (unknown) is posted as (1, unbounded)."""

    holder_id: int
    system_id: int
    kind: str
    quantity_low: int | None
    quantity_high: int | None
    quantity_text: str
    date: dt.date | None
    date_precision: str
    origin_label: str
    grade: str = ""
    via_contract: bool = False
    date_end: dt.date | None = None  # the last day of a date "between"


# The columns `ledger_post` writes, in order; the first thirteen are a row's signature (two
# postings of an origin are the same when their rows' signatures are).
SIGNATURE = (
    "holder_id",
    "system_id",
    "kind",
    "quantity_low",
    "quantity_high",
    "quantity_text",
    "date",
    "date_precision",
    "date_earliest",
    "date_latest",
    "via_contract",
    "origin_label",
    "grade",
)
COLUMNS = (*SIGNATURE, "origin_model", "origin_id", "is_cancelled", "posted_at", "cancelled_at")


def _signature(origin: Origin, spec: EntrySpec) -> tuple:
    """The row an entry becomes, as the values of SIGNATURE (no model instance)."""
    low, high = spec.quantity_low, spec.quantity_high
    if low is None:  # unknown: at least one, how many unknown
        low, high = 1, None
    earliest, latest = date_interval(spec.date, spec.date_precision, spec.date_end)
    return (
        spec.holder_id,
        spec.system_id,
        spec.kind,
        low,
        high,
        spec.quantity_text[:200],
        spec.date,
        spec.date_precision,
        earliest,
        latest,
        spec.via_contract,
        spec.origin_label[:300],
        spec.grade,
    )


def id_filters(name: str, ids: Iterable[int], *, batch_size: int = 2000) -> Iterator[Q]:
    """Filters that together select exactly `ids` in field `name`: one range per run of
    consecutive ids (a bulk insert's are), `__in` lists of at most `batch_size` for the
    others. Tens of thousands of new ids cost one indexed range scan, not a long IN list."""
    ids = sorted(set(ids))
    loose: list[int] = []
    start = 0
    while start < len(ids):
        end = start
        while end + 1 < len(ids) and ids[end + 1] == ids[end] + 1:
            end += 1
        if end - start + 1 >= 64:
            yield Q(**{f"{name}__gte": ids[start], f"{name}__lte": ids[end]})
        else:
            loose.extend(ids[start : end + 1])
        start = end + 1
    for first in range(0, len(loose), batch_size):
        yield Q(**{f"{name}__in": loose[first : first + batch_size]})


def _origin_filters(origins: Iterable[Origin], batch_size: int) -> Iterator[Q]:
    by_model: dict[str, list[int]] = {}
    for model, pk in origins:
        by_model.setdefault(model, []).append(pk)
    for model, pks in by_model.items():
        for query in id_filters("origin_id", pks, batch_size=batch_size):
            yield Q(origin_model=model) & query


def ledger_post(
    postings: dict[Origin, list[EntrySpec]], *, batch_size: int = 2000, now=None
) -> set[Pair]:
    """Replace the ledger rows of each origin by its new entries (an empty list cancels).

    Unchanged origins keep their rows (nothing is cancelled and re-posted when the entries
    are the same), so re-saving or re-importing a record leaves the ledger as it was.
    Returns the holder × system pairs whose estimates are now stale. `now`: the time
    the rows are posted and cancelled at (the matching gives the moment its reports'
    rows are superseded, so the two changes share one instant).

    The current rows are read as plain values and the new ones written as plain rows
    (`rows_insert`: COPY on PostgreSQL), so posting many origins costs a few statements.
    """
    if not postings:
        return set()
    now = now or timezone.now()
    with transaction.atomic():
        current: dict[Origin, list[tuple]] = {}
        for query in _origin_filters(postings, batch_size):
            rows = (
                LedgerEntry.objects.filter(query, is_cancelled=False)
                .order_by("id")
                .values_list("origin_model", "origin_id", "id", *SIGNATURE)
            )
            for model, origin_id, pk, *signature in rows:
                current.setdefault((model, origin_id), []).append((pk, tuple(signature)))
        cancel_ids: list[int] = []
        new_rows: list[tuple] = []
        stale: set[Pair] = set()
        for origin, specs in postings.items():
            wanted = [_signature(origin, spec) for spec in specs]
            existing = current.get(origin, [])
            if [signature for _, signature in existing] == wanted:
                continue
            cancel_ids.extend(pk for pk, _ in existing)
            new_rows.extend((*row, origin[0], origin[1], False, now, None) for row in wanted)
            stale.update((row[0], row[1]) for _, row in existing)
            stale.update((row[0], row[1]) for row in wanted)
        for start in range(0, len(cancel_ids), batch_size):
            LedgerEntry.objects.filter(pk__in=cancel_ids[start : start + batch_size]).update(
                is_cancelled=True, cancelled_at=now
            )
        rows_insert(LedgerEntry, list(COLUMNS), new_rows, batch_size=batch_size)
        estimates_mark_stale(stale, at=now)
    return stale


def ledger_cancel(origins: Iterable[Origin]) -> set[Pair]:
    """Cancel every row of these origins (their record was deleted)."""
    return ledger_post({origin: [] for origin in origins})


def estimates_mark_stale(pairs: Iterable[Pair], *, at: dt.datetime | None = None) -> None:
    """Mark pairs stale in the current transaction (one upsert per few thousand pairs) and,
    after it commits, enqueue their refresh. If the broker is unreachable then, the sweeper
    picks them up later."""
    pairs = sorted(set(pairs))
    if not pairs:
        return
    at = at or timezone.now()
    if connection.vendor == "postgresql":
        # one statement for all the pairs: two arrays, unnested, upserted
        table = connection.ops.quote_name(StaleEstimate._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (holder_id, system_id, marked_at) "
                "SELECT h, s, %s FROM unnest(%s::bigint[], %s::bigint[]) AS p (h, s) "
                "ON CONFLICT (holder_id, system_id) DO UPDATE SET marked_at = EXCLUDED.marked_at",
                [at, [h for h, _ in pairs], [s for _, s in pairs]],
            )
    else:
        StaleEstimate.objects.bulk_create(
            [StaleEstimate(holder_id=h, system_id=s, marked_at=at) for h, s in pairs],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["holder_id", "system_id"],
            update_fields=["marked_at"],
        )
    if not getattr(_held, "depth", 0):  # held: the caller refreshes them itself
        refresh_after_commit(pairs)  # one enqueue per commit, bounded (core.enqueue)


_held = threading.local()


@contextlib.contextmanager
def refresh_held():
    """Within this block, commits mark pairs stale but enqueue no refresh: the caller
    refreshes them itself afterwards (`manage.py estimates`, which runs without a worker)."""
    depth = getattr(_held, "depth", 0)
    _held.depth = depth + 1
    try:
        yield
    finally:
        _held.depth = depth


def enqueue_refresh(pairs: list[Pair]) -> bool:
    """Send the refresh task; a broker failure is logged, never raised to the writer, and
    bounded in time (core.enqueue): the stale marks stay, the sweeper will come."""
    from django.conf import settings

    from stock.tasks import estimates_refresh

    if getattr(settings, "STOCKPILE_ESTIMATES_SYNC", False):
        estimates_refresh.run(pairs=[list(pair) for pair in pairs])
        return True
    for start in range(0, len(pairs), 1000):
        chunk = [list(pair) for pair in pairs[start : start + 1000]]
        if not enqueue(estimates_refresh, kwargs={"pairs": chunk}):
            return False
    return True


# -- the full rebuild calls back into the app that owns the records ------------------------


@dataclass(frozen=True)
class Rebuilder:
    """The registry of ledger origins: how the owner of some records re-posts them and shows
    them. `batches()` yields postings a few thousand records at a time;
    `existing(model_label, ids)` says which of these origin ids still exist (rows of the others
    are cancelled); `records(model_label, ids)` loads the records themselves, each with its
    citations (their sources loaded) as the list `explained_citations`, for "why this
    number" (`stock.selectors.estimate_explanation`). The stock app
    never imports the records' app: `transfers` registers itself in AppConfig.ready()."""

    batches: Callable[[], Iterable[dict[Origin, list[EntrySpec]]]]
    existing: Callable[[str, list[int]], set[int]]
    models: tuple[str, ...]
    records: Callable[[str, list[int]], dict[int, Any]] = lambda model, ids: {}
    # the dataset each origin comes from (rows of one dataset add up; reports of one
    # movement from different datasets are counted once: stock.matching)
    datasets: Callable[[str, list[int]], dict[int, str]] = lambda model, ids: {}


_rebuilders: list[Rebuilder] = []


def register_rebuilder(rebuilder: Rebuilder) -> None:
    """Register the owner of some origin models (`transfers` does, in AppConfig.ready())."""
    if rebuilder not in _rebuilders:
        _rebuilders.append(rebuilder)


def origin_records(ids_by_model: dict[str, set[int]]) -> dict[tuple[str, int], Any]:
    """The origin records of some ledger rows, keyed by (model label, id), from the owners
    registered with `register_rebuilder`; a constant number of queries per model."""
    found: dict[tuple[str, int], Any] = {}
    for rebuilder in _rebuilders:
        for model in rebuilder.models:
            ids = ids_by_model.get(model)
            if ids:
                for pk, record in rebuilder.records(model, sorted(ids)).items():
                    found[(model, pk)] = record
    return found


def origin_datasets(ids_by_model: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    """The dataset of each origin ("sipri", "kiel", "source:12" …), from the owners
    registered with `register_rebuilder`; an origin nobody names is a dataset of its own."""
    found: dict[tuple[str, int], str] = {}
    for rebuilder in _rebuilders:
        for model in rebuilder.models:
            ids = ids_by_model.get(model)
            if ids:
                for pk, dataset in rebuilder.datasets(model, sorted(ids)).items():
                    found[(model, pk)] = dataset
    for model, ids in ids_by_model.items():
        for pk in ids:
            found.setdefault((model, pk), f"{model}:{pk}")
    return found


def ledger_record_count() -> int:
    """How many records the full rebuild re-posts (for progress output)."""
    from django.apps import apps

    return sum(
        apps.get_model(label).objects.count()
        for rebuilder in _rebuilders
        for label in rebuilder.models
    )


def ledger_rebuild(*, chunk_size: int = 5000, progress=None) -> dict[str, int]:
    """Re-post the whole ledger from the records, streaming: rows of records that no longer
    exist are cancelled, rows that differ are replaced, identical rows are kept. Memory
    stays flat whatever the number of records. `progress(n)` is called with the number of
    records re-posted after each chunk."""
    origins = stale = 0
    for rebuilder in _rebuilders:
        for postings in rebuilder.batches():
            origins += len(postings)
            stale += len(ledger_post(postings))
            if progress is not None:
                progress(len(postings))
        for model in rebuilder.models:
            ids = (
                LedgerEntry.objects.filter(origin_model=model, is_cancelled=False)
                .values_list("origin_id", flat=True)
                .distinct()
                .order_by("origin_id")
            )
            batch: list[int] = []
            for origin_id in ids.iterator(chunk_size=chunk_size):
                batch.append(origin_id)
                if len(batch) >= chunk_size:
                    stale += _cancel_missing(rebuilder, model, batch)
                    batch = []
            if batch:
                stale += _cancel_missing(rebuilder, model, batch)
    return {"origins": origins, "stale_pairs": stale}


def _cancel_missing(rebuilder: Rebuilder, model: str, ids: list[int]) -> int:
    missing = set(ids) - rebuilder.existing(model, ids)
    return len(ledger_cancel((model, pk) for pk in missing)) if missing else 0


# -- one enqueue per commit (bounded: core.enqueue) ------------------------------------------


class RefreshBatch:
    """The one after-commit callback of a transaction: refresh every pair it collected."""

    def __init__(self) -> None:
        self.pairs: set[tuple[int, int]] = set()

    def __call__(self) -> None:
        enqueue_refresh(sorted(self.pairs))


def refresh_after_commit(pairs: Iterable[tuple[int, int]]) -> None:
    """Enqueue the refresh of these pairs after the current transaction commits, together
    with every other pair of the same transaction (one enqueue per commit)."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _savepoints, callback, *_rest in connection.run_on_commit:
            if isinstance(callback, RefreshBatch):
                callback.pairs.update(pairs)
                return
    batch = RefreshBatch()
    batch.pairs.update(pairs)
    transaction.on_commit(batch)
