"""The estimate arithmetic: one pure function, ranges in, ranges out.

Every number Stockpile derives is defined here. The set-based SQL refresh
(`stock.refresh`), the stored monthly series and the explanation all follow these rules,
and a property test checks the SQL against `compute_estimate`.

Rules (also in docs/estimates.md):

1. A range is (low, high); high `None` means unbounded / unknown. A ledger row of unknown
   quantity counts as (1, None): at least one unit moved, how many is unknown.
2. **Dates are intervals** (`core.values.date_interval`): a movement happened on some
   day between its first and its last possible day (a month, a year, "on or before D",
   "between D1 and D2"; an unknown date is "on or before today": it was reported). The
   **baseline** is the latest in-inventory holding of the pair whose first possible day is
   on or before the as-of date. A movement counts **for sure** when it surely happened by
   the as-of date (its last day is on or before it) and surely after the baseline (its first
   day is after the baseline's last day; a count "as of" a day holds what moved that day);
   it is **absorbed** by the baseline when it surely happened by the count (its last day on
   or before the baseline's first day); otherwise it **may** count and adds (0, high): it
   widens the range instead of vanishing or counting for sure. A movement whose first day
   is after the as-of date is left out.
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
8. A **family** (a system and its variants) sums its members' flows (each member's baseline
   and what counts on top of it), then applies rules 4–7 once: a loss recorded under a
   variant lowers the family. It has a baseline only when every member has one; when some
   member has none, the others' baselines still count in the low bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
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
    baseline_floor: int = 0,
) -> Estimate:
    """The estimate of one holder × system from the sums of its ledger rows (rules above).
    `baseline_floor` is the low bound taken for a missing baseline: 0 for one pair, the
    known members' baselines for a family where some member has none."""
    start = baseline if baseline is not None else Range(baseline_floor, None)
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


@dataclass(frozen=True, slots=True)
class Flows:
    """What `compute_estimate` takes: a baseline (or None) and the sums of the movements
    that count on top of it. Flows of a family's members add up to the family's flows."""

    baseline: Range | None
    received: Range = ZERO
    sent: Range = ZERO
    expended: Range = ZERO
    pledged_in: Range = ZERO
    ordered: Range = ZERO
    contract_received: Range = ZERO
    pledged_out: Range = ZERO
    baseline_floor: int = 0  # without a baseline: what the known part of it holds at least

    @property
    def floor(self) -> int:
        return self.baseline.low if self.baseline is not None else self.baseline_floor

    def __add__(self, other: Flows) -> Flows:
        if self.baseline is None or other.baseline is None:
            baseline = None
        else:
            baseline = self.baseline + other.baseline
        sums = {name: getattr(self, name) + getattr(other, name) for name in FLOW_NAMES}
        return Flows(baseline, **sums, baseline_floor=self.floor + other.floor)

    def estimate(self) -> Estimate:
        return compute_estimate(
            baseline=self.baseline,
            baseline_floor=self.baseline_floor,
            **{name: getattr(self, name) for name in FLOW_NAMES},
        )


FLOW_NAMES = (
    "received",
    "sent",
    "expended",
    "pledged_in",
    "ordered",
    "contract_received",
    "pledged_out",
)


@dataclass(frozen=True, slots=True)
class Movement:
    """What the arithmetic needs of a ledger row (`LedgerEntry` has these attributes).
    `date_earliest` None is the beginning of time; `date_latest` None is "no later than
    today" (an unknown date)."""

    id: int
    kind: str
    quantity_low: int
    quantity_high: int | None
    date: object  # datetime.date | None: the record's own date, for display and order
    via_contract: bool = False
    grade: str = ""
    date_earliest: dt.date | None = None
    date_latest: dt.date | None = None


MOVEMENT_CLASSES = {
    "received": "received",
    "produced": "received",
    "sent": "sent",
    "expended": "expended",
    "pledged_in": "pledged_in",
    "pledged_out": "pledged_out",
    "ordered": "ordered",
}
STOCK_KINDS = frozenset({"received", "produced", "sent", "expended"})  # relative to a baseline
BEGINNING = dt.date.min
LEFT_OUT, MAYBE, SURE = 0, 1, 2


def span(row, today: dt.date) -> tuple[dt.date, dt.date]:
    """A row's first and last possible day (unknown ends made concrete)."""
    return (row.date_earliest or BEGINNING, row.date_latest or today)


def share(
    first: dt.date,
    last: dt.date,
    as_of: dt.date,
    base: tuple[dt.date, dt.date] | None,
) -> int:
    """How a movement of days first..last counts as of `as_of` on top of a baseline whose
    days are `base` (None: no baseline, or a flow not relative to one): LEFT_OUT, MAYBE or
    SURE (rule 2)."""
    if first > as_of:
        return LEFT_OUT
    after = True
    if base is not None:
        if last <= base[0]:
            return LEFT_OUT  # surely in the count already
        after = first > base[1]
    return SURE if after and last <= as_of else MAYBE


def part(value: Range, how: int) -> Range:
    """What a movement adds: its range for sure, (0, high) maybe, nothing when left out."""
    if how == SURE:
        return value
    if how == MAYBE:
        return Range(0, value.high)
    return ZERO


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else dt.date.today()


def flows_from_rows(rows: Iterable, as_of: dt.date, today: dt.date | None = None):
    """The flows of one pair as of a date from its uncancelled ledger rows (rule 2), and the
    evidence: best and weakest grade, number of rows and of unsourced rows, the baseline row
    and its date. Returns (None, None) when no row is dated on or before `as_of`."""
    today = _today(today)
    kept = [row for row in rows if (row.date_earliest or BEGINNING) <= as_of]
    if not kept:
        return None, None
    baselines = [row for row in kept if row.kind == "baseline"]
    base = max(baselines, key=lambda row: (row.date_earliest or BEGINNING, row.id), default=None)
    base_span = span(base, today) if base is not None else None
    sums = {name: ZERO for name in FLOW_NAMES}
    for row in kept:
        if row.kind == "baseline":
            continue
        value = Range(row.quantity_low, row.quantity_high)
        first, last = span(row, today)
        if row.kind == "received" and row.via_contract:
            how = share(first, last, as_of, None)
            sums["contract_received"] = sums["contract_received"] + part(value, how)
        relative = base_span if row.kind in STOCK_KINDS else None
        name = MOVEMENT_CLASSES[row.kind]
        sums[name] = sums[name] + part(value, share(first, last, as_of, relative))
    baseline = None if base is None else Range(base.quantity_low, base.quantity_high)
    grades = sorted(row.grade for row in kept if row.grade)
    evidence = {
        "best_grade": grades[0] if grades else "",
        "weakest_grade": grades[-1] if grades else "",
        "record_count": len(kept),
        "unsourced_count": sum(1 for row in kept if not row.grade),
        "baseline_row": base,
        "baseline_date": None if base is None else base.date,
    }
    return Flows(baseline, **sums), evidence


def estimate_from_rows(rows: Iterable, as_of: dt.date, today: dt.date | None = None):
    """The estimate of one pair as of a date from its ledger rows, and its evidence
    (`flows_from_rows`). With no row dated by then: an empty estimate with no rows."""
    flows, evidence = flows_from_rows(rows, as_of, today)
    if flows is None:
        flows, evidence = Flows(None), _no_evidence()
    return flows.estimate(), evidence


def _no_evidence() -> dict:
    return {
        "best_grade": "",
        "weakest_grade": "",
        "record_count": 0,
        "unsourced_count": 0,
        "baseline_row": None,
        "baseline_date": None,
    }


def family_from_rows(
    rows_by_member: Mapping[object, Iterable], as_of: dt.date, today: dt.date | None = None
):
    """A family's estimate as of a date (rule 8): its members' flows summed, then the
    arithmetic once. Members with no row dated by then are left out; with none left the
    result is (None, None). The evidence sums the members'."""
    today = _today(today)
    total: Flows | None = None
    grades: list[str] = []
    count = unsourced = 0
    dates = []
    for rows in rows_by_member.values():
        flows, evidence = flows_from_rows(rows, as_of, today)
        if flows is None:
            continue
        total = flows if total is None else total + flows
        grades.extend(g for g in (evidence["best_grade"], evidence["weakest_grade"]) if g)
        count += evidence["record_count"]
        unsourced += evidence["unsourced_count"]
        if evidence["baseline_date"] is not None:
            dates.append(evidence["baseline_date"])
    if total is None:
        return None, None
    evidence = {
        "best_grade": min(grades) if grades else "",
        "weakest_grade": max(grades) if grades else "",
        "record_count": count,
        "unsourced_count": unsourced,
        "baseline_row": None,
        "baseline_date": max(dates) if dates and total.baseline is not None else None,
    }
    return total.estimate(), evidence


def change_days(rows: Iterable, today: dt.date) -> list[dt.date]:
    """The days on which an estimate from these rows can change: each row's first and last
    possible day (a row enters, then counts for sure; a baseline takes over on its first).
    Between two of them the estimate stays the same."""
    days = set()
    for row in rows:
        days.update(span(row, today))
    return sorted(days)


def _latest_change(days: list[dt.date], end: dt.date) -> dt.date | None:
    import bisect

    index = bisect.bisect_right(days, end)
    return days[index - 1] if index else None


def estimates_by_month(rows: Iterable, ends: list, today: dt.date | None = None) -> dict:
    """The estimate as of each date of `ends`: what `estimate_from_rows(rows, end)` gives
    for each end (a property test holds the two together), computed once per change of the
    estimate (`change_days`) rather than once per end. Dates before the first row get no
    estimate."""
    today = _today(today)
    rows = list(rows)
    days = change_days(rows, today)
    computed: dict[dt.date, tuple] = {}
    results = {}
    for end in ends:
        day = _latest_change(days, end)
        if day is None:
            continue
        if day not in computed:
            flows, evidence = flows_from_rows(rows, day, today)
            computed[day] = (flows.estimate(), evidence)
        results[end] = computed[day]
    return results


def family_by_month(
    rows_by_member: Mapping[object, Iterable], ends: list, today: dt.date | None = None
) -> dict:
    """`family_from_rows` as of each date of `ends`, once per change (as `estimates_by_month`)."""
    today = _today(today)
    members = {key: list(rows) for key, rows in rows_by_member.items()}
    days = change_days((row for rows in members.values() for row in rows), today)
    computed: dict[dt.date, tuple] = {}
    results = {}
    for end in ends:
        day = _latest_change(days, end)
        if day is None:
            continue
        if day not in computed:
            computed[day] = family_from_rows(members, day, today)
        results[end] = computed[day]
    return results
