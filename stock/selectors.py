"""Reads of the stock ledger and the estimates that more than one caller needs."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inventory.models import WeaponSystem
from inventory.selectors import weapon_system_family_ids


def estimate_list() -> QuerySet:
    """Current estimates with their holder and system."""
    from stock.models import StockEstimate

    return StockEstimate.objects.select_related("holder", "system", "system__parent")


def estimates_as_of(
    as_of, *, holder_ids=None, system_ids=None, scope: str = "system", known_at=None
) -> list:
    """Estimates as of a past date, computed from the ledger now (unsaved StockEstimate
    instances, so they render like the stored ones). Family scope sums each family's
    members' flows, as the stored refresh does (the same SQL). `known_at`: as the database
    knew them at that moment (transaction time; `stock.models.counted_known_at`)."""
    from stock.models import StockEstimate

    rows = estimate_rows_as_of(
        as_of, holder_ids=holder_ids, system_ids=system_ids, scope=scope, known_at=known_at
    )
    return [StockEstimate(computed_at=None, **row) for row in rows]


def estimate_rows_as_of(
    as_of, *, holder_ids=None, system_ids=None, scope: str = "system", known_at=None
) -> list[dict]:
    """`estimates_as_of` as plain rows (the estimate's fields, with `scope` and
    `conflict`), ordered by holder and system: for a caller that shows only some of many."""
    from stock.choices import EstimateScope
    from stock.refresh import estimates_select, family_lineage

    lineage = []
    if scope != EstimateScope.SYSTEM:
        lineage = family_lineage(system_ids)
        if system_ids is not None:
            lineage = [(a, d) for a, d in lineage if a in set(system_ids)]
        if not lineage:
            return []
        system_ids = None
    rows = estimates_select(
        as_of=as_of,
        holder_ids=holder_ids,
        system_ids=system_ids,
        lineage=lineage,
        known_at=known_at,
    )
    conflicted = conflicts_as_of(as_of, holder_ids=holder_ids, lineage=lineage, known_at=known_at)
    for row in rows:
        row["scope"] = scope
        row["conflict"] = (row["holder_id"], row["system_id"]) in conflicted
    return sorted(rows, key=lambda r: (r["holder_id"], r["system_id"]))


#: What "the numbers of an estimate" are when two moments are compared.
ESTIMATE_NUMBERS = (
    "has_baseline",
    "baseline_low",
    "baseline_high",
    *(
        f"{name}_{bound}"
        for name in ("received", "sent", "expended", "on_hand", "incoming", "outgoing", "projected")
        for bound in ("low", "high")
    ),
    "inconsistent",
    "conflict",
)


def estimates_compared(
    since, until, *, as_of, holder_ids=None, system_ids=None, scopes=("system", "family")
) -> list[tuple]:
    """The estimates whose numbers differ between what the database knew at `since` and at
    `until` (transaction time; both as of the date `as_of`): (before, after, changed field
    names) for each holder × system × scope, `before` or `after` None where there was no
    estimate at that moment; ordered by holder, scope and system. `until` None: now (the
    ledger's counted rows as they are)."""
    found = []
    for scope in scopes:
        before = {
            (e.holder_id, e.system_id): e
            for e in estimates_as_of(
                as_of, holder_ids=holder_ids, system_ids=system_ids, scope=scope, known_at=since
            )
        }
        after = {
            (e.holder_id, e.system_id): e
            for e in estimates_as_of(
                as_of, holder_ids=holder_ids, system_ids=system_ids, scope=scope, known_at=until
            )
        }
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key), after.get(key)
            changed = [
                name
                for name in ESTIMATE_NUMBERS
                if old is None or new is None or getattr(old, name) != getattr(new, name)
            ]
            if changed:
                found.append((key, scope, old, new, changed))
    found.sort(key=lambda item: (item[0][0], item[1], item[0][1]))
    return [(old, new, changed) for _key, _scope, old, new, changed in found]


def conflicts_as_of(as_of, *, holder_ids=None, lineage=None, known_at=None) -> set[tuple[int, int]]:
    """The holder × system pairs (× family, with `lineage`: (ancestor, descendant) pairs)
    where a movement in conflict posts a counted row that may have happened by `as_of`:
    the flag the stored estimates carry (`stock.movements.conflicts_flag`), for a date in
    the past; `known_at`: as the database knew it at that moment."""
    from django.db.models import Q

    rows = _conflict_rows(known_at).filter(
        Q(date_earliest__isnull=True) | Q(date_earliest__lte=as_of)
    )
    if holder_ids is not None:
        rows = rows.filter(holder_id__in=holder_ids)
    pairs = set(rows.order_by().values_list("holder_id", "system_id").distinct())
    if not lineage:
        return pairs
    ancestors: dict[int, list[int]] = {}
    for ancestor, descendant in lineage:
        ancestors.setdefault(descendant, []).append(ancestor)
    return {(h, a) for h, s in pairs for a in ancestors.get(s, [])}


def estimate_series(holder_id: int, system_id: int, scope: str = "system", *, today=None) -> list:
    """The estimate at the end of every month, from the first stored point to the current
    month: the stored points (only changes are stored), each carried forward, as unsaved
    copies with their month's `as_of`, until the next."""
    import copy

    from django.utils import timezone

    from stock.models import EstimatePoint
    from stock.series import month_end, month_ends

    stored = list(
        EstimatePoint.objects.filter(
            holder_id=holder_id, system_id=system_id, scope=scope
        ).order_by("as_of")
    )
    if not stored:
        return []
    last = max(month_end(today or timezone.localdate()), stored[-1].as_of)
    by_end = {point.as_of: point for point in stored}
    series, current = [], None
    for end in month_ends(stored[0].as_of, last):
        if end in by_end:
            current = by_end[end]
            series.append(current)
        else:
            carried = copy.copy(current)
            carried.pk, carried.as_of = None, end
            series.append(carried)
    return series


def estimate_ledger_rows(
    holder_id: int, system_id: int, scope: str = "system", as_of=None, known_at=None
):
    """The uncancelled ledger rows behind an estimate, in date order (unknown dates first);
    `known_at`: the rows that were posted and not yet cancelled at that moment, each with
    `superseded_then` (it was superseded at that moment; `is_superseded` is now)."""
    from django.db.models import F

    from stock.models import LedgerEntry, superseded_known_at

    system_ids = (
        weapon_system_family_ids(WeaponSystem(pk=system_id)) if scope == "family" else [system_id]
    )
    alive = (
        Q(posted_at__lte=known_at) & (Q(cancelled_at__isnull=True) | Q(cancelled_at__gt=known_at))
        if known_at is not None
        else Q(is_cancelled=False)
    )
    rows = LedgerEntry.objects.filter(
        alive, holder_id=holder_id, system_id__in=system_ids
    ).select_related("system")
    if as_of is not None:
        rows = rows.filter(Q(date_earliest__isnull=True) | Q(date_earliest__lte=as_of))
    if known_at is not None:
        rows = rows.annotate(superseded_then=superseded_known_at(known_at))
    return rows.order_by(F("date").asc(nulls_first=True), "id")


def row_superseded(row) -> bool:
    """A row of `estimate_ledger_rows` was left out as a duplicate: at the moment it was
    read as known at, else now."""
    return getattr(row, "superseded_then", row.is_superseded)


# -- why this number ------------------------------------------------------------------------


def estimate_explanation(
    *, holder_id: int, system_id: int, scope: str = "system", as_of=None, known_at=None
) -> list[dict]:
    """The ledger rows behind an estimate in date order ("why this number"), each with the
    record it came from and that record's citations with their sources (loaded through the
    registry of ledger origins, `stock.ledger.origin_records`). A movement's row comes with
    its reports and which datasets set each bound; a report's row that a movement
    superseded is shown as left out (`counted` false), saying of which movement it is a
    duplicate and why. A constant number of queries, whatever the number of rows."""
    from stock.ledger import origin_records
    from stock.models import MovementReport
    from stock.movements import MOVEMENT_ORIGIN, movement_bounds

    rows = list(estimate_ledger_rows(holder_id, system_id, scope, as_of, known_at))
    by_model: dict[str, set[int]] = {}
    for row in rows:
        by_model.setdefault(row.origin_model, set()).add(row.origin_id)
    # the movements that superseded some of these rows (their reports were merged)
    superseded = [row for row in rows if row_superseded(row)]
    links: dict[tuple[str, int], int] = {}
    reasons: dict[tuple[str, int], str] = {}
    if superseded:
        from stock.matching import origin_filters

        for query in origin_filters({(r.origin_model, r.origin_id) for r in superseded}):
            for model, pk, movement_id, reason in MovementReport.objects.filter(query).values_list(
                "origin_model", "origin_id", "movement_id", "reason"
            ):
                if movement_id is not None:
                    links[(model, pk)] = movement_id
                    by_model.setdefault(MOVEMENT_ORIGIN, set()).add(movement_id)
                elif reason:
                    reasons[(model, pk)] = reason
    records = origin_records(by_model)
    explained = []
    for row in rows:
        record = records.get((row.origin_model, row.origin_id))
        item = {
            "entry": row,
            "record": record,
            "citations": list(getattr(record, "explained_citations", ())),
            "counted": not row_superseded(row),
            "left_out": "",
            "movement": None,
        }
        if row.origin_model == MOVEMENT_ORIGIN and record is not None:
            item["movement"] = {"movement": record, **movement_bounds(record)}
        if row_superseded(row):
            movement = records.get((MOVEMENT_ORIGIN, links.get((row.origin_model, row.origin_id))))
            if movement is not None:
                others = sorted(
                    {r.dataset for r in movement.reports.all()}
                    - {
                        r.dataset
                        for r in movement.reports.all()
                        if (r.origin_model, r.origin_id) == (row.origin_model, row.origin_id)
                    }
                )
                item["left_out"] = (
                    f"a duplicate: another report of movement #{movement.pk}, which "
                    f"{', '.join(others) or 'another dataset'} also report"
                    f"{'s' if len(others) == 1 else ''}; the movement is counted once "
                    f"({movement.quantity_display}{', in conflict' if movement.conflict else ''})"
                )
            else:
                item["left_out"] = reasons.get(
                    (row.origin_model, row.origin_id),
                    "a duplicate: a report merged into a movement",
                ).removeprefix("left out: ")
        explained.append(item)
    return explained


# -- movements --------------------------------------------------------------------------------


def movement_list() -> QuerySet:
    """Movements with their parties, systems and reports (a constant number of queries)."""
    from django.db.models import Prefetch

    from stock.models import Movement, MovementReport

    reports = MovementReport.objects.order_by("dataset", "date", "origin_model", "origin_id")
    return Movement.objects.select_related("donor", "holder", "system", "family").prefetch_related(
        Prefetch("reports", queryset=reports)
    )


def report_candidates(origin_model: str, origin_id: int) -> list[dict]:
    """The likely matches of one record (a report): the flows of other datasets in its block
    (same kind, parties and system family) that could be the same movement, best first,
    each with its score and what became of the pair — "same movement" (counted once with
    this one), "to review", "rejected" or "not matched" (below the review threshold, or
    kept apart because its dataset is already in the movement)."""
    from stock.choices import MatchStatus
    from stock.matching import (
        REVIEW_THRESHOLD,
        Tree,
        block_of,
        blocks_q,
        pair_score,
    )
    from stock.models import MatchDecision, MovementReport
    from stock.movements import Flow, windows_overlap

    report = MovementReport.objects.filter(origin_model=origin_model, origin_id=origin_id).first()
    if report is None:
        return []
    tree = Tree()
    flows: dict[str, Flow] = {}
    for other in MovementReport.objects.filter(blocks_q([block_of(report)])).order_by("id"):
        key = other.flow_key
        flow = flows.setdefault(
            key,
            Flow(
                key=key,
                dataset=other.dataset,
                kind=other.kind,
                donor_id=other.donor_id,
                holder_id=other.holder_id,
                system_id=other.system_id,
                family_id=other.family_id,
            ),
        )
        flow.reports.append(other)
    own = flows[report.flow_key]
    decisions = {
        (d.flow_a, d.flow_b): d.status
        for d in MatchDecision.objects.filter(blocks_q([block_of(report)]))
    }
    found = []
    for key, flow in flows.items():
        if flow.dataset == own.dataset or not tree.related(own.system_id, flow.system_id):
            continue
        if not windows_overlap(own.window, flow.window):
            continue
        score = pair_score(own, flow, tree)
        status = decisions.get(tuple(sorted((own.key, key))))
        together = report.movement_id is not None and any(
            r.movement_id == report.movement_id for r in flow.reports
        )
        if together:
            state = "same movement"
        elif status == MatchStatus.PENDING:
            state = "to review"
        elif status == MatchStatus.REJECTED:
            state = "rejected"
        elif score < REVIEW_THRESHOLD:
            continue
        else:
            state = "not matched"
        found.append(
            {
                "dataset": flow.dataset,
                "score": score,
                "status": state,
                "movement": report.movement_id if together else None,
                "quantity": str(flow.total),
                "reports": [
                    {"model": r.origin_model, "id": r.origin_id, "label": r.origin_label}
                    for r in flow.reports
                ],
            }
        )
    return sorted(found, key=lambda item: (-item["score"], item["dataset"]))


def entry_candidates(
    entries: list, dataset: str, *, exclude: tuple[str, int] | None = None
) -> list[dict]:
    """The likely matches of a record *before* it is saved: the existing reports that may
    describe the same movement as these ledger entries (`EntrySpec`s, what the record would
    post), best first. Unlike `report_candidates`, reports of the record's own dataset are
    listed too (the same source entered twice would add up), marked `same_dataset`. Each
    flow lists its reports, so an editor can add the new citation to one of them instead.
    `exclude`: the record's own origin (an edit)."""
    from core.values import date_interval
    from stock.matching import (
        REVIEW_THRESHOLD,
        Tree,
        block_of,
        blocks_q,
        date_window,
        flow_key,
        pair_score,
    )
    from stock.models import MovementReport
    from stock.movements import DONOR_ROW, HOLDER_ROW, KIND_OF_ROW, Flow, windows_overlap

    by_kind = {entry.kind: entry for entry in entries}
    kind = next((KIND_OF_ROW[k] for k in KIND_OF_ROW if k in by_kind), None)
    if kind is None:
        return []  # a baseline, or nothing that moves stock
    main = by_kind[HOLDER_ROW[kind]]
    donor = by_kind.get(DONOR_ROW.get(kind))
    tree = Tree()
    low, high = main.quantity_low, main.quantity_high
    if low is None:
        low, high = 1, None
    start, end = date_window(*date_interval(main.date, main.date_precision, main.date_end))
    own = MovementReport(
        dataset=dataset,
        kind=kind,
        donor_id=donor.holder_id if donor else None,
        holder_id=main.holder_id,
        system_id=main.system_id,
        family_id=tree.family(main.system_id),
        quantity_low=low,
        quantity_high=high,
        date=main.date,
        date_precision=main.date_precision,
        window_start=start,
        window_end=end,
        grade=main.grade,
    )
    own_key = flow_key(dataset, kind, own.donor_id, own.holder_id, own.system_id)
    own_flow = Flow(
        key=own_key,
        dataset=dataset,
        kind=kind,
        donor_id=own.donor_id,
        holder_id=own.holder_id,
        system_id=own.system_id,
        family_id=own.family_id,
        reports=[own],
    )
    others = MovementReport.objects.filter(blocks_q([block_of(own)])).order_by("id")
    flows: dict[str, Flow] = {}
    for other in others:
        if exclude is not None and (other.origin_model, other.origin_id) == exclude:
            continue
        key = other.flow_key
        flows.setdefault(
            key,
            Flow(
                key=key,
                dataset=other.dataset,
                kind=other.kind,
                donor_id=other.donor_id,
                holder_id=other.holder_id,
                system_id=other.system_id,
                family_id=other.family_id,
            ),
        ).reports.append(other)
    found = []
    for flow in flows.values():
        if not tree.related(own.system_id, flow.system_id):
            continue
        if not windows_overlap(own_flow.window, flow.window):
            continue
        score = pair_score(own_flow, flow, tree)
        if score < REVIEW_THRESHOLD:
            continue
        found.append(
            {
                "dataset": flow.dataset,
                "same_dataset": flow.dataset == dataset,
                "score": score,
                "quantity": str(flow.total),
                "reports": [
                    {"model": r.origin_model, "id": r.origin_id, "label": r.origin_label}
                    for r in flow.reports
                ],
            }
        )
    return sorted(found, key=lambda item: (-item["score"], item["dataset"]))


def _conflict_rows(known_at=None):
    """The counted ledger rows of movements in conflict; `known_at`: the rows counted at
    that moment of movements in conflict then (their history)."""
    from stock.models import COUNTED, LedgerEntry, Movement, counted_known_at
    from stock.movements import MOVEMENT_ORIGIN

    if known_at is None:
        counted, movements = COUNTED, Movement.objects.filter(conflict=True).values("pk")
    else:
        from core.history import history_as_of

        counted = counted_known_at(known_at)
        movements = history_as_of(Movement, known_at).filter(conflict=True).values("id")
    return LedgerEntry.objects.filter(
        counted, origin_model=MOVEMENT_ORIGIN, origin_id__in=movements
    )


def conflict_since(holder_id: int, system_id: int, scope: str = "system"):
    """The first day from which an estimate counts a movement in conflict (the monthly
    points from then on carry the flag): `datetime.date.min` when one is undated, None when
    none is counted. One query."""
    import datetime as dt

    from stock.choices import EstimateScope
    from stock.refresh import family_lineage

    systems = [system_id]
    if scope != EstimateScope.SYSTEM:
        systems = [d for a, d in family_lineage([system_id]) if a == system_id] or [system_id]
    dates = list(
        _conflict_rows()
        .filter(holder_id=holder_id, system_id__in=systems)
        .order_by()
        .values_list("date_earliest", flat=True)
        .distinct()
    )
    if not dates:
        return None
    return min(d or dt.date.min for d in dates)
