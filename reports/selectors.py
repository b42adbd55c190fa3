"""What a subscriber's report holds for one period, read from the records, their history
(django-simple-history), the stock ledger and the estimates.

- **changes**: pledges, transfers, expenditures and authorizations created, changed or
  removed in the period (a history row dated in it, or a citation of the record added,
  changed or removed in it), with what changed and their sources;
- **outstanding**: pledges announced or partially delivered, oldest first, with their age
  and what has been delivered so far;
- **movers**: the on-hand estimates that moved most — the estimate as the ledger stood at
  the start of the period against the current one;
- **unsourced**: records in the subscriber's scope without a citation;
- **conflicts**: movements that became conflicts in the period (their datasets' ranges
  disagree: docs/reconciliation.md).

The subscriber's filters apply to every part: countries (any role: donor, recipient,
holder, grantor, supplier), systems (a family includes its variants) and the minimum grade
(a record passes with at least one supporting citation graded at least that well; the
estimates and the unsourced list are not graded).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from inventory.models import Country, WeaponSystem
from inventory.selectors import weapon_system_family_ids
from reports.chains import ChainSection, chains_build
from reports.models import Subscription
from reports.periods import Period, period_bounds
from stock.choices import EstimateScope
from stock.estimates import Range, counted, estimate_from_rows
from stock.headline import estimate_headline, headline_of
from stock.models import LedgerEntry, StockEstimate
from transfers.choices import Stance
from transfers.models import (
    Authorization,
    Citation,
    Expenditure,
    Holding,
    Pledge,
    Transfer,
)
from transfers.records import RECORD_MODELS
from transfers.selectors import OPEN_PLEDGE, RECORD_PARTIES, record_list, unsourced

CHANGE_MODELS = RECORD_MODELS
UNSOURCED_MODELS = RECORD_MODELS
DIFF_EXCLUDED = ["created_at", "updated_at"]
MAX_CHANGES = 200
MAX_OUTSTANDING = 30
MAX_MOVERS = 10
MAX_UNSOURCED = 20
MAX_CONFLICTS = 20


@dataclass
class CitationLine:
    title: str
    url: str
    publisher: str
    grade: str
    stance: str
    excerpt: str


@dataclass
class RecordChange:
    kind: str  # "pledge", "transfer", …
    change: str  # "new", "changed", "removed"
    label: str
    date: str
    quantity: str
    detail: str
    notes: str
    changed_at: dt.datetime
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    citations: list[CitationLine] = field(default_factory=list)
    admin_url: str = ""
    system_name: str = ""


@dataclass
class OutstandingPledge:
    label: str
    status: str
    date: str
    age_days: int | None
    pledged: Range
    delivered: Range
    system_name: str
    admin_url: str = ""


@dataclass
class EstimateMove:
    holder: str
    system: str
    old: Range | None
    new: Range | None
    holder_id: int
    system_id: int
    old_headline: str = ""  # stock.headline: the known parts when on hand is unknown
    new_headline: str = ""

    @property
    def old_display(self) -> str:
        if self.old is None:
            return "no estimate"
        return self.old_headline or self.old.display()

    @property
    def new_display(self) -> str:
        if self.new is None:
            return "no estimate"
        return self.new_headline or self.new.display()

    @property
    def score(self) -> int:
        old, new = self.old or Range(0, 0), self.new or Range(0, 0)
        score = abs(new.low - old.low)
        if old.high is not None and new.high is not None:
            score += abs(new.high - old.high)
        elif old.high != new.high:
            score += 1000  # a bound became known or unknown
        if (self.old is None) != (self.new is None):
            score += 1000
        return score


@dataclass
class ConflictLine:
    """A movement that became a conflict in the period: its datasets disagree."""

    label: str
    datasets: str  # each dataset's total: "kiel 62; oryx-supplied 30"
    admin_url: str = ""


@dataclass
class UnsourcedLine:
    kind: str
    label: str
    admin_url: str = ""


@dataclass
class Report:
    subscription: Subscription
    period: Period
    changes: dict[str, list[RecordChange]]
    changes_total: int
    outstanding: list[OutstandingPledge]
    outstanding_total: int
    movers: list[EstimateMove]
    unsourced: list[UnsourcedLine]
    unsourced_total: int
    countries: list[str]
    systems: list[str]
    chains: ChainSection | None = None  # issue 17 (reports/chains.py)
    conflicts: list[ConflictLine] = field(default_factory=list)
    conflicts_total: int = 0

    @property
    def is_empty(self) -> bool:
        """Nothing happened in the period: no record changed, no estimate moved and no new
        conflict (the outstanding pledges and unsourced records are standing state, not
        news)."""
        return not self.changes_total and not self.movers and not self.conflicts_total

    @property
    def item_count(self) -> int:
        return self.changes_total + len(self.movers) + self.conflicts_total

    @property
    def change_sections(self) -> list[tuple[str, list[RecordChange]]]:
        return [(kind, items) for kind, items in self.changes.items() if items]

    @property
    def changed_system_names(self) -> list[str]:
        names: list[str] = []
        for _kind, items in self.change_sections:
            for item in items:
                if item.system_name and item.system_name not in names:
                    names.append(item.system_name)
        return names


# -- the subscriber's scope --------------------------------------------------------------


@dataclass
class Scope:
    country_ids: list[int]
    system_ids: list[int] | None  # None: every system
    subscription: Subscription

    @classmethod
    def of(cls, subscription: Subscription) -> Scope:
        country_ids = list(subscription.countries.values_list("pk", flat=True))
        systems = list(subscription.systems.all())
        system_ids: list[int] | None = None
        if systems:
            system_ids = sorted(
                {pk for system in systems for pk in weapon_system_family_ids(system)}
            )
        return cls(country_ids=country_ids, system_ids=system_ids, subscription=subscription)

    def parties_q(self, model) -> Q:
        if not self.country_ids:
            return Q()
        query = Q(pk__in=[])
        for party in RECORD_PARTIES[model]:
            query |= Q(**{f"{party}_id__in": self.country_ids})
        return query

    def systems_q(self) -> Q:
        return Q() if self.system_ids is None else Q(system_id__in=self.system_ids)

    def grade_q(self, model) -> Q:
        sub = self.subscription
        if not sub.has_grade_filter:
            return Q()
        good = Citation.objects.filter(
            **{model._meta.model_name: OuterRef("pk")},
            credibility__lte=sub.min_credibility,
        ).exclude(stance=Stance.CONTRADICTS)
        good = good.filter(
            Q(reliability__lte=sub.min_reliability, reliability__gt="")
            | Q(reliability="", source__reliability__lte=sub.min_reliability)
        )
        return Q(Exists(good))

    def records(self, model, *, graded: bool = True) -> QuerySet:
        queryset = model.objects.filter(self.parties_q(model), self.systems_q())
        return queryset.filter(self.grade_q(model)) if graded else queryset


# -- helpers ---------------------------------------------------------------------------------


def admin_url(record) -> str:
    meta = record._meta
    return f"{settings.SITE_URL.rstrip('/')}/admin/{meta.app_label}/{meta.model_name}/{record.pk}/change/"


def _quantity(record) -> str:
    return getattr(record, "quantity_display", "") or ""


def _detail(record) -> str:
    if isinstance(record, Holding):
        supplier = f" from {record.supplier}" if record.supplier_id else ""
        return f"{record.get_kind_display()}{supplier}"
    if isinstance(record, Pledge):
        return record.get_status_display()
    if isinstance(record, Transfer):
        return record.get_basis_display()
    if isinstance(record, Expenditure):
        return record.get_kind_display()
    if isinstance(record, Authorization):
        scope = f"{record.get_kind_display()}: {record.scope}"
        return scope + (f" (until {record.valid_until})" if record.valid_until else "")
    return ""


def _citation_lines(record) -> list[CitationLine]:
    return [
        CitationLine(
            title=citation.source.title,
            url=citation.source.url,
            publisher=citation.source.publisher,
            grade=citation.grade,
            stance=citation.get_stance_display(),
            excerpt=citation.excerpt,
        )
        for citation in record.citations.all()
    ]


def _value_display(model, name: str, value) -> str:
    if value is None or value == "":
        return "—"
    try:
        model_field = model._meta.get_field(name)
    except Exception:  # a field the model no longer has
        return str(value)
    if model_field.is_relation and model_field.related_model is not None:
        related = model_field.related_model.objects.filter(pk=value).first()
        return str(related) if related is not None else f"#{value} (deleted)"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


def _field_changes(model, old_row, new_row) -> list[tuple[str, str, str]]:
    if old_row is None or new_row is None:
        return []
    delta = new_row.diff_against(old_row, excluded_fields=DIFF_EXCLUDED)
    lines = []
    for change in delta.changes:
        try:
            label = str(model._meta.get_field(change.field).verbose_name)
        except Exception:
            label = change.field
        lines.append(
            (
                label,
                _value_display(model, change.field, change.old),
                _value_display(model, change.field, change.new),
            )
        )
    return lines


# -- the parts of the report -------------------------------------------------------------


def _changes_of(model, scope: Scope, start: dt.datetime, end: dt.datetime) -> list[RecordChange]:
    history = model.history.model
    field_name = model._meta.model_name
    in_period = {"history_date__gte": start, "history_date__lt": end}
    ids = set(history.objects.filter(**in_period).values_list("id", flat=True))
    ids |= set(
        Citation.history.model.objects.filter(
            **in_period, **{f"{field_name}__isnull": False}
        ).values_list(f"{field_name}_id", flat=True)
    )
    if not ids:
        return []
    rows_by_id: dict[int, list] = defaultdict(list)
    for row in history.objects.filter(id__in=ids, history_date__lt=end).order_by(
        "history_date", "history_id"
    ):
        rows_by_id[row.id].append(row)
    changes: list[RecordChange] = []
    live = record_list(model).filter(pk__in=ids).filter(scope.parties_q(model), scope.systems_q())
    live = live.filter(scope.grade_q(model))
    seen: set[int] = set()
    for record in live:
        seen.add(record.pk)
        rows = rows_by_id.get(record.pk, [])
        before = [row for row in rows if row.history_date < start]
        during = [row for row in rows if row.history_date >= start]
        created = any(row.history_type == "+" for row in during)
        changed_at = during[-1].history_date if during else start
        changes.append(
            RecordChange(
                kind=field_name,
                change="new" if created or not before else "changed",
                label=str(record),
                date=record.date_display,
                quantity=_quantity(record),
                detail=_detail(record),
                notes=record.notes,
                changed_at=changed_at,
                fields=[]
                if created
                else _field_changes(
                    model, before[-1] if before else None, rows[-1] if rows else None
                ),
                citations=_citation_lines(record),
                admin_url=admin_url(record),
                system_name=record.system.name,
            )
        )
    if not scope.subscription.has_grade_filter:  # removed records have no grade left
        existing = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        removed_rows = history.objects.filter(
            id__in=ids - existing, history_type="-", **in_period
        ).filter(scope.parties_q(model), scope.systems_q())
        for row in removed_rows:
            if row.id in seen:
                continue
            seen.add(row.id)
            record = row.instance
            changes.append(
                RecordChange(
                    kind=field_name,
                    change="removed",
                    label=_safe_str(record),
                    date=record.date_display,
                    quantity=_quantity(record),
                    detail=_detail(record),
                    notes=record.notes,
                    changed_at=row.history_date,
                    system_name=_safe_system_name(record),
                )
            )
    changes.sort(key=lambda item: item.changed_at)
    return changes


def _safe_str(record) -> str:
    try:
        return str(record)
    except Exception:  # a related row of the removed record is gone too
        return f"{record._meta.verbose_name} #{record.pk}"


def _safe_system_name(record) -> str:
    system = WeaponSystem.objects.filter(pk=record.system_id).first()
    return system.name if system is not None else ""


def _outstanding(scope: Scope, period_end: dt.date) -> tuple[list[OutstandingPledge], int]:
    pledges = (
        scope.records(Pledge)
        .filter(OPEN_PLEDGE)
        .select_related("donor", "recipient", "system")
        .prefetch_related("deliveries")
        .order_by("date", "id")
    )
    total = pledges.count()
    lines = []
    for pledge in pledges[:MAX_OUTSTANDING]:
        delivered = Range(0, 0)
        for delivery in pledge.deliveries.all():
            delivered = delivered + counted(delivery.quantity_low, delivery.quantity_high)
        lines.append(
            OutstandingPledge(
                label=str(pledge),
                status=pledge.get_status_display(),
                date=pledge.date_display,
                age_days=(period_end - pledge.date).days if pledge.date else None,
                pledged=counted(pledge.quantity_low, pledge.quantity_high),
                delivered=delivered,
                system_name=pledge.system.name,
                admin_url=admin_url(pledge),
            )
        )
    return lines, total


def _movers(scope: Scope, start: dt.datetime, end: dt.datetime, period_start: dt.date):
    moved = LedgerEntry.objects.filter(
        Q(posted_at__gte=start, posted_at__lt=end)
        | Q(cancelled_at__gte=start, cancelled_at__lt=end)
    )
    if scope.country_ids:
        moved = moved.filter(holder_id__in=scope.country_ids)
    if scope.system_ids is not None:
        moved = moved.filter(system_id__in=scope.system_ids)
    pairs = set(moved.values_list("holder_id", "system_id").distinct())
    if not pairs:
        return []
    holder_ids = {h for h, _ in pairs}
    system_ids = {s for _, s in pairs}
    known_at_start: dict[tuple[int, int], list] = defaultdict(list)
    for row in LedgerEntry.objects.filter(
        holder_id__in=holder_ids, system_id__in=system_ids, posted_at__lt=start
    ).filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=start)):
        if (row.holder_id, row.system_id) in pairs:
            known_at_start[(row.holder_id, row.system_id)].append(row)
    current = {
        (est.holder_id, est.system_id): est
        for est in StockEstimate.objects.filter(
            holder_id__in=holder_ids, system_id__in=system_ids, scope=EstimateScope.SYSTEM
        )
    }
    names = dict(Country.objects.filter(pk__in=holder_ids).values_list("pk", "name"))
    systems = dict(WeaponSystem.objects.filter(pk__in=system_ids).values_list("pk", "name"))
    day_before = period_start - dt.timedelta(days=1)
    today = timezone.localdate()
    moves = []
    for pair in pairs:
        rows = known_at_start.get(pair)
        before = estimate_from_rows(rows, day_before, today)[0] if rows else None
        old = before.on_hand if before is not None else None
        estimate = current.get(pair)
        new = estimate.range("on_hand") if estimate is not None else None
        if old == new:
            continue
        moves.append(
            EstimateMove(
                names.get(pair[0], "?"),
                systems.get(pair[1], "?"),
                old,
                new,
                *pair,
                old_headline=(
                    estimate_headline(
                        on_hand=before.on_hand,
                        received=before.received,
                        sent=before.sent,
                        expended=before.expended,
                        has_baseline=before.baseline is not None,
                        inconsistent=before.inconsistent,
                    )
                    if before is not None
                    else ""
                ),
                new_headline=headline_of(estimate) if estimate is not None else "",
            )
        )
    moves.sort(key=lambda move: (-move.score, move.holder, move.system))
    return moves[:MAX_MOVERS]


def _unsourced(scope: Scope) -> tuple[list[UnsourcedLine], int]:
    lines: list[UnsourcedLine] = []
    total = 0
    for model in UNSOURCED_MODELS:
        queryset = (
            unsourced(model)
            .filter(scope.parties_q(model), scope.systems_q())
            .select_related(*RECORD_PARTIES[model], "system")
            .order_by("-updated_at", "-id")
        )
        count = queryset.count()
        total += count
        room = MAX_UNSOURCED - len(lines)
        if room > 0 and count:
            for record in queryset[:room]:
                lines.append(
                    UnsourcedLine(
                        kind=str(model._meta.verbose_name),
                        label=str(record),
                        admin_url=admin_url(record),
                    )
                )
    return lines, total


def _new_conflicts(scope: Scope, start: dt.datetime, end: dt.datetime):
    """Movements in conflict now that became conflicts in the period: flagged by a history
    row dated in it, and not flagged as the period began. In the subscriber's scope: a
    party as donor or holder, a system or its family."""
    from django.db.models import Prefetch, Subquery

    from stock.models import Movement, MovementReport
    from stock.movements import movement_bounds

    history = Movement.history.model
    flagged = history.objects.filter(
        history_date__gte=start, history_date__lt=end, conflict=True
    ).values("id")
    before = history.objects.filter(id=OuterRef("pk"), history_date__lt=start).order_by(
        "-history_date", "-history_id"
    )
    movements = (
        Movement.objects.filter(conflict=True, pk__in=flagged)
        .annotate(was_conflict=Subquery(before.values("conflict")[:1]))
        .filter(Q(was_conflict=False) | Q(was_conflict__isnull=True))  # NULL: new since
    )
    if scope.country_ids:
        movements = movements.filter(
            Q(holder_id__in=scope.country_ids) | Q(donor_id__in=scope.country_ids)
        )
    if scope.system_ids is not None:
        movements = movements.filter(
            Q(system_id__in=scope.system_ids) | Q(family_id__in=scope.system_ids)
        )
    total = movements.count()
    shown = movements.select_related("donor", "holder", "system").prefetch_related(
        Prefetch("reports", queryset=MovementReport.objects.order_by("dataset", "id"))
    )[:MAX_CONFLICTS]
    lines = []
    for movement in shown:
        totals = movement_bounds(movement)["datasets"]
        lines.append(
            ConflictLine(
                label=str(movement),
                datasets="; ".join(f"{name} {value}" for name, value in totals.items()),
                admin_url=(
                    f"{settings.SITE_URL.rstrip('/')}/admin/stock/movementconflict/"
                    f"{movement.pk}/change/"
                ),
            )
        )
    return lines, total


def report_build(*, subscription: Subscription, period: Period) -> Report:
    """The report of one subscriber for one period (reads only)."""
    scope = Scope.of(subscription)
    start, end = period_bounds(period)
    changes = {
        model._meta.model_name: _changes_of(model, scope, start, end) for model in CHANGE_MODELS
    }
    total = sum(len(items) for items in changes.values())
    if total > MAX_CHANGES:  # keep the newest
        for kind, items in changes.items():
            changes[kind] = items[-MAX_CHANGES:]
    outstanding, outstanding_total = _outstanding(scope, period[1])
    unsourced_lines, unsourced_total = _unsourced(scope)
    conflicts, conflicts_total = _new_conflicts(scope, start, end)
    return Report(
        subscription=subscription,
        period=period,
        changes=changes,
        changes_total=total,
        outstanding=outstanding,
        outstanding_total=outstanding_total,
        movers=_movers(scope, start, end, period[0]),
        unsourced=unsourced_lines,
        unsourced_total=unsourced_total,
        countries=[str(c) for c in subscription.countries.all()],
        systems=[str(s) for s in subscription.systems.all()],
        chains=chains_build(scope, start, end),
        conflicts=conflicts,
        conflicts_total=conflicts_total,
    )
