"""Counting each movement once: how the reports of one movement are reconciled.

A *report* is one ledger origin (one record: what one dataset or source states). Reports of
one dataset describing one flow add up (SIPRI's yearly rows of a deal); a *movement* groups
the statements of several datasets about the same flow, and must count once:

1. Each dataset's statement of the flow is the sum of its reports in the movement.
2. Where the datasets agree (their ranges overlap), the movement's range is what they agree
   on: the intersection (highest low .. lowest high; unknown highs impose nothing).
3. Where they disagree (disjoint ranges), the movement is a **conflict**: it counts with the
   range that covers them all (lowest low .. highest high, unbounded when one is), flagged;
   never a made-up midpoint.
4. Its grade is the best grade among its reports.

The reports' own ledger rows are superseded (`LedgerEntry.is_superseded`: kept, not counted)
and the movement posts its own rows (origin "stock.movement"), so the estimate arithmetic
(`stock.estimates`, `stock.refresh`) is unchanged. Timing: when one dataset's statement is
exactly the reconciled range, the movement posts that dataset's reports as they are (their
dates: SIPRI's years, a news report's day), preferring the best-dated dataset; otherwise it
posts one row with the reconciled range, dated like its latest dated report (undated when
none is dated). docs/reconciliation.md has the worked examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from stock.choices import LedgerKind, MovementKind
from stock.estimates import Range, range_sum
from stock.ledger import EntrySpec

MOVEMENT_ORIGIN = "stock.movement"

# The ledger row that makes an origin a report of a movement kind (the holder's side), and
# the row of the other party, when the kind has one. Baselines are not movements: the
# latest one counts, they never add up.
KIND_OF_ROW = {
    LedgerKind.RECEIVED: MovementKind.TRANSFER,
    LedgerKind.PLEDGED_IN: MovementKind.PLEDGE,
    LedgerKind.ORDERED: MovementKind.ORDER,
    LedgerKind.PRODUCED: MovementKind.PRODUCTION,
    LedgerKind.EXPENDED: MovementKind.EXPENDITURE,
}
HOLDER_ROW = {kind: row for row, kind in KIND_OF_ROW.items()}
DONOR_ROW = {MovementKind.TRANSFER: LedgerKind.SENT, MovementKind.PLEDGE: LedgerKind.PLEDGED_OUT}
PRECISION_RANK = {"day": 0, "month": 1, "year": 2, "unknown": 3}


@dataclass
class Flow:
    """One dataset's statement of a flow: its reports of one kind, parties and system."""

    key: str
    dataset: str
    kind: str
    donor_id: int | None
    holder_id: int
    system_id: int
    family_id: int
    reports: list = field(default_factory=list)  # MovementReport rows

    @property
    def total(self) -> Range:
        return range_sum(Range(r.quantity_low, r.quantity_high) for r in self.reports)

    @property
    def window(self) -> tuple | None:
        """(start, end) of its reports' dates widened by precision; None: any date."""
        if not self.reports or any(r.window_start is None for r in self.reports):
            return None
        return (min(r.window_start for r in self.reports), max(r.window_end for r in self.reports))

    @property
    def grade(self) -> str:
        return min((r.grade for r in self.reports if r.grade), default="")


def windows_overlap(left: tuple | None, right: tuple | None) -> bool:
    """An unknown date (None) matches any date."""
    if left is None or right is None:
        return True
    return left[0] <= right[1] and right[0] <= left[1]


def reconcile(totals: Sequence[Range]) -> tuple[Range, bool]:
    """The movement's range from its datasets' statements, and whether they conflict."""
    low = max(t.low for t in totals)
    highs = [t.high for t in totals if t.high is not None]
    high = min(highs) if highs else None
    if high is None or low <= high:
        return Range(low, high), False
    cover_high = None if any(t.high is None for t in totals) else max(highs)
    return Range(min(t.low for t in totals), cover_high), True


def timing_flow(flows: Sequence[Flow], reconciled: Range, conflict: bool) -> Flow | None:
    """The dataset whose reports the movement posts as they are: one whose statement is
    exactly the reconciled range, best dated first (most dated reports, finest
    precision), then by dataset name. None: the movement posts one reconciled row."""
    if conflict:
        return None
    exact = [f for f in flows if f.total == reconciled]

    def rank(flow: Flow) -> tuple:
        dated = [r for r in flow.reports if r.date is not None]
        precision = sum(PRECISION_RANK.get(r.date_precision, 3) for r in flow.reports)
        return (-len(dated), precision, flow.dataset)

    return min(exact, key=rank, default=None)


def movement_entries(
    *,
    kind: str,
    donor_id: int | None,
    holder_id: int,
    system_id: int,
    flows: Sequence[Flow],
    reconciled: Range,
    conflict: bool,
    grade: str,
    label: str,
) -> list[EntrySpec]:
    """The ledger rows a movement posts (see the module docstring)."""
    timing = timing_flow(flows, reconciled, conflict)
    reports: Iterable = (
        sorted(timing.reports, key=lambda r: (r.date is None, r.date, r.origin_model, r.origin_id))
        if timing is not None
        else []
    )
    parts: list[tuple] = [
        (r.quantity_low, r.quantity_high, r.quantity_text, r.date, r.date_precision, r.via_contract)
        for r in reports
    ]
    if timing is None:
        everything = [r for f in flows for r in f.reports]
        dated = [r for r in everything if r.date is not None]
        latest = max(dated, key=lambda r: (r.date, r.date_precision), default=None)
        text = f"{reconciled} reconciled from {len(flows)} datasets"
        if conflict:
            text = f"{reconciled} covering conflicting reports"
        parts = [
            (
                reconciled.low,
                reconciled.high,
                text,
                latest.date if latest else None,
                latest.date_precision if latest else "unknown",
                any(r.via_contract for r in everything),
            )
        ]
    entries: list[EntrySpec] = []
    for low, high, text, date, precision, via_contract in parts:
        common = {
            "system_id": system_id,
            "quantity_low": low,
            "quantity_high": high,
            "quantity_text": text,
            "date": date,
            "date_precision": precision,
            "origin_label": label,
            "grade": grade,
        }
        entries.append(
            EntrySpec(
                holder_id=holder_id,
                kind=HOLDER_ROW[kind],
                via_contract=via_contract and kind == MovementKind.TRANSFER,
                **common,
            )
        )
        if kind in DONOR_ROW and donor_id is not None:
            entries.append(EntrySpec(holder_id=donor_id, kind=DONOR_ROW[kind], **common))
    return entries


def conflicts_flag(cursor, pairs_where: str, lineage: Sequence[tuple[int, int]], *, holders: str):
    """Set `StockEstimate.conflict` of the estimates `pairs_where` (system scope) and
    `holders` × the families of `lineage` (family scope) select: true when a movement in
    conflict posts a counted row to the pair (or to a member of the family). Only flags
    that change are written."""
    from stock.models import LedgerEntry, Movement, StockEstimate

    estimate = StockEstimate._meta.db_table
    ledger = LedgerEntry._meta.db_table
    movement = Movement._meta.db_table
    conflicted = f"""SELECT l.holder_id, l.system_id FROM {ledger} l
        JOIN {movement} m ON m.id = l.origin_id
        WHERE l.origin_model = '{MOVEMENT_ORIGIN}' AND l.is_cancelled = false
          AND m.conflict = true"""
    cursor.execute(
        f"""UPDATE {estimate} SET conflict = NOT conflict
        WHERE scope = 'system' AND {pairs_where} AND conflict <> EXISTS (
            SELECT 1 FROM ({conflicted}) c
            WHERE c.holder_id = {estimate}.holder_id AND c.system_id = {estimate}.system_id)"""
    )
    if not lineage:
        return
    values = ", ".join(f"({int(a)}, {int(d)})" for a, d in lineage)
    families = ", ".join(str(int(a)) for a in sorted({a for a, _ in lineage}))
    cursor.execute(
        f"""WITH lineage (ancestor_id, descendant_id) AS (VALUES {values})
        UPDATE {estimate} SET conflict = NOT conflict
        WHERE scope = 'family' AND {holders} AND system_id IN ({families})
          AND conflict <> EXISTS (
            SELECT 1 FROM ({conflicted}) c JOIN lineage ON lineage.descendant_id = c.system_id
            WHERE c.holder_id = {estimate}.holder_id
              AND lineage.ancestor_id = {estimate}.system_id)"""
    )


def movements_existing(model_label: str, ids: list[int]) -> set[int]:
    from stock.models import Movement

    return set(Movement.objects.filter(pk__in=ids).values_list("pk", flat=True))


def movement_records(model_label: str, ids: list[int]) -> dict[int, object]:
    """Movements with their reports, for "why this number"."""
    from django.db.models import Prefetch

    from stock.models import Movement, MovementReport

    reports = MovementReport.objects.order_by("dataset", "date", "origin_model", "origin_id")
    movements = Movement.objects.filter(pk__in=ids).prefetch_related(
        Prefetch("reports", queryset=reports)
    )
    return {movement.pk: movement for movement in movements}


def movement_bounds(movement) -> dict:
    """Which datasets set each bound of a movement's range ("why this number"), from its
    reports summed per dataset: agreeing ranges take the highest low and the lowest high;
    a conflict covers them (the lowest low, the highest high)."""
    totals: dict[str, Range] = {}
    for report in movement.reports.all():
        value = Range(report.quantity_low, report.quantity_high)
        totals[report.dataset] = (
            totals[report.dataset] + value if report.dataset in totals else value
        )
    reconciled = Range(movement.quantity_low, movement.quantity_high)
    low = sorted(name for name, total in totals.items() if total.low == reconciled.low)
    high = sorted(name for name, total in totals.items() if total.high == reconciled.high)
    return {
        "datasets": {name: str(total) for name, total in sorted(totals.items())},
        "low_set_by": low,
        "high_set_by": high,
    }
