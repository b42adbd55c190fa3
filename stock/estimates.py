"""The estimate arithmetic: one pure function, ranges in, ranges out.

Every number Stockpile derives is defined here. The set-based SQL refresh
(`stock.refresh`), the stored monthly series and the explanation all follow these rules,
and a property test checks the SQL against `compute_estimate`.

Rules (also in docs/estimates.md):

1. A range is (low, high); high `None` means unbounded / unknown. A ledger row of unknown
   quantity counts as (1, None): at least one unit moved, how many is unknown.
2. The **baseline** is the latest in-inventory holding of the pair dated on or before the
   as-of date. Only movements dated *after* the baseline's date count on top of it (a
   holding "as of" a date already includes what moved that day). An unknown date counts as
   the beginning of time: it is in every estimate and is absorbed by any dated baseline.
3. **Received** (deliveries in and production), **sent** (deliveries out) and **expended**
   (launched, lost, retired) are sums of ranges.
4. **On hand** = baseline + received − sent − expended, with
   low = b.low + r.low − s.high − e.high and high = b.high + r.high − s.low − e.low.
   Without a baseline the holder may have had units we don't know of: the low bound takes
   b.low = 0, the high bound is unknown (None), never a made-up number. An unbounded sent or
   expended range makes the low bound 0.
5. On hand never goes below zero: each bound is clamped at 0. When even the high bound is
   below zero (more went out than could have been there), the estimate is flagged
   **inconsistent** and shows (0, 0).
6. **Incoming** = what is pledged to the holder and not yet delivered (pledges announced or
   partially delivered; under discussion, delivered and withdrawn ones do not count) plus
   what it ordered (contracted holdings) minus what it received under a contract.
   **Outgoing** = what the holder pledged and has not delivered.
7. **Projected** = on hand + incoming − outgoing, clamped at 0 the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Range:
    """A quantity range; `high=None` is unbounded (unknown)."""

    low: int = 0
    high: int | None = 0

    def __add__(self, other: Range) -> Range:
        high = None if self.high is None or other.high is None else self.high + other.high
        return Range(self.low + other.low, high)

    @property
    def known(self) -> bool:
        return self.high is not None

    def display(self) -> str:
        if self.high is None:
            return f"≥{self.low}" if self.low else "unknown"
        if self.low == self.high:
            return str(self.low)
        return f"{self.low}–{self.high}"

    def __str__(self) -> str:
        return self.display()


ZERO = Range(0, 0)


def range_sum(ranges: Iterable[Range]) -> Range:
    total = ZERO
    for item in ranges:
        total = total + item
    return total


def range_minus(left: Range, right: Range) -> tuple[Range, bool]:
    """left − right clamped at zero; the flag says the unclamped high bound was negative."""
    low = 0 if right.high is None else left.low - right.high
    high = None if left.high is None else left.high - right.low
    inconsistent = high is not None and high < 0
    return Range(max(low, 0), None if high is None else max(high, 0)), inconsistent


def counted(low: int | None, high: int | None) -> Range:
    """The range a ledger row counts for: unknown quantity counts as at least one."""
    if low is None:
        return Range(1, None)
    return Range(low, high)


@dataclass(frozen=True, slots=True)
class Estimate:
    baseline: Range | None
    received: Range
    sent: Range
    expended: Range
    on_hand: Range
    incoming: Range
    outgoing: Range
    projected: Range
    inconsistent: bool
    notes: tuple[str, ...] = field(default=())


def compute_estimate(
    *,
    baseline: Range | None,
    received: Range = ZERO,
    sent: Range = ZERO,
    expended: Range = ZERO,
    pledged_in: Range = ZERO,
    ordered: Range = ZERO,
    contract_received: Range = ZERO,
    pledged_out: Range = ZERO,
) -> Estimate:
    """The estimate of one holder × system from the sums of its ledger rows (rules above)."""
    start = baseline if baseline is not None else Range(0, None)
    gross = start + received
    outflow = sent + expended
    on_hand, inconsistent = range_minus(gross, outflow)
    if inconsistent:
        on_hand = ZERO
    ordered_open, _ = range_minus(ordered, contract_received)
    incoming = pledged_in + ordered_open
    projected, _ = range_minus(on_hand + incoming, pledged_out)
    notes: list[str] = []
    if baseline is None:
        notes.append("No baseline holding: the upper bound of on hand is unknown.")
    if inconsistent:
        notes.append("Inconsistent: more units went out than could have been there; shown as 0.")
    return Estimate(
        baseline=baseline,
        received=received,
        sent=sent,
        expended=expended,
        on_hand=on_hand,
        incoming=incoming,
        outgoing=pledged_out,
        projected=projected,
        inconsistent=inconsistent,
        notes=tuple(notes),
    )


def estimate_sum(estimates: Iterable[Estimate]) -> Estimate:
    """A family's estimate: the sum of its systems' estimates (each already clamped)."""
    items = list(estimates)
    baselines = [item.baseline for item in items]
    baseline = None if any(b is None for b in baselines) or not items else range_sum(baselines)

    def total(name: str) -> Range:
        return range_sum(getattr(item, name) for item in items)

    return Estimate(
        baseline=baseline,
        received=total("received"),
        sent=total("sent"),
        expended=total("expended"),
        on_hand=total("on_hand"),
        incoming=total("incoming"),
        outgoing=total("outgoing"),
        projected=total("projected"),
        inconsistent=any(item.inconsistent for item in items),
    )


@dataclass(frozen=True, slots=True)
class Movement:
    """What the arithmetic needs of a ledger row (`LedgerEntry` has these attributes)."""

    id: int
    kind: str
    quantity_low: int
    quantity_high: int | None
    date: object  # datetime.date | None
    via_contract: bool = False
    grade: str = ""


MOVEMENT_CLASSES = {
    "received": "received",
    "produced": "received",
    "sent": "sent",
    "expended": "expended",
    "pledged_in": "pledged_in",
    "pledged_out": "pledged_out",
    "ordered": "ordered",
}


def _estimate_of(base, sums: dict[str, Range]) -> Estimate:
    """`compute_estimate` from a baseline row (or None) and the sums of the movement classes."""
    return compute_estimate(
        baseline=None if base is None else Range(base.quantity_low, base.quantity_high),
        received=sums["received"],
        sent=sums["sent"],
        expended=sums["expended"],
        pledged_in=sums["pledged_in"],
        ordered=sums["ordered"],
        contract_received=sums["contract"],
        pledged_out=sums["pledged_out"],
    )


def estimate_from_rows(rows: Iterable, as_of) -> tuple[Estimate, dict]:
    """The estimate of one pair as of a date from its uncancelled ledger rows (rule 2: the
    latest baseline absorbs what moved on or before its date). Also returns the evidence:
    best and weakest grade, number of rows and of unsourced rows, and the baseline row."""
    import datetime as dt

    start = dt.date.min
    kept = [row for row in rows if row.date is None or row.date <= as_of]
    baselines = [row for row in kept if row.kind == "baseline"]
    base = max(baselines, key=lambda row: (row.date or start, row.id), default=None)
    base_day = (base.date or start) if base is not None else None
    sums = {name: ZERO for name in set(MOVEMENT_CLASSES.values()) | {"contract"}}
    for row in kept:
        if row.kind == "baseline":
            continue
        value = Range(row.quantity_low, row.quantity_high)
        name = MOVEMENT_CLASSES[row.kind]
        if row.kind == "received" and row.via_contract:
            sums["contract"] = sums["contract"] + value
        after_baseline = base_day is None or (row.date or start) > base_day
        if name in ("received", "sent", "expended") and not after_baseline:
            continue
        sums[name] = sums[name] + value
    estimate = _estimate_of(base, sums)
    grades = sorted(row.grade for row in kept if row.grade)
    evidence = {
        "best_grade": grades[0] if grades else "",
        "weakest_grade": grades[-1] if grades else "",
        "record_count": len(kept),
        "unsourced_count": sum(1 for row in kept if not row.grade),
        "baseline_row": base,
    }
    return estimate, evidence


def estimates_by_month(rows: Iterable, ends: list) -> dict:
    """The estimate as of each date of `ends` (ascending), in one pass over the rows in date
    order: what `estimate_from_rows(rows, end)` gives for each end (a property test holds
    the two together), in time proportional to rows + ends rather than their product.
    Dates before the first row get no estimate."""
    import datetime as dt

    start = dt.date.min
    ordered = sorted(rows, key=lambda row: (row.date or start, row.id))
    moves = {"received": ZERO, "sent": ZERO, "expended": ZERO}  # since the baseline
    other = {"pledged_in": ZERO, "pledged_out": ZERO, "ordered": ZERO, "contract": ZERO}
    base = None
    grades: list[str] = []
    count = unsourced = 0
    results = {}
    index = 0
    for end in ends:
        while index < len(ordered) and (ordered[index].date or start) <= end:
            day = ordered[index].date or start
            group = []
            while index < len(ordered) and (ordered[index].date or start) == day:
                group.append(ordered[index])
                index += 1
            day_moves = []
            for row in group:
                count += 1
                if row.grade:
                    grades.append(row.grade)
                else:
                    unsourced += 1
                if row.kind == "baseline":
                    base = row  # the group is in id order: the last one wins
                    continue
                value = Range(row.quantity_low, row.quantity_high)
                name = MOVEMENT_CLASSES[row.kind]
                if row.kind == "received" and row.via_contract:
                    other["contract"] = other["contract"] + value
                if name in moves:
                    day_moves.append((name, value))
                else:
                    other[name] = other[name] + value
            if any(row.kind == "baseline" for row in group):
                moves = {"received": ZERO, "sent": ZERO, "expended": ZERO}  # absorbed
            else:
                for name, value in day_moves:
                    moves[name] = moves[name] + value
        if not count:
            continue
        estimate = _estimate_of(base, {**moves, **other})
        results[end] = (
            estimate,
            {
                "best_grade": min(grades) if grades else "",
                "weakest_grade": max(grades) if grades else "",
                "record_count": count,
                "unsourced_count": unsourced,
                "baseline_row": base,
            },
        )
    return results
