"""What each explorer page shows, as plain tables (the page, its charts and its CSV and JSON
downloads all read the same rows), each page in a constant number of queries.

Numbers of stock come from the ledger's counted rows (a movement that several datasets
report is counted once, docs/reconciliation.md) and from the stored estimates; pledges,
orders and authorizations from their records. Only public fields are read: no notes, no
external ids, no editors, nothing of subscribers."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from html import escape as _escape
from urllib.parse import quote, urlencode

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, ExtractYear, RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias, normalize_alias
from inventory.search import parties_ranked, systems_ranked
from inventory.selectors import weapon_system_family_ids
from stock.choices import EstimateScope, LedgerKind
from stock.estimates import Range, range_minus, range_sum
from stock.headline import headline_of
from stock.models import (
    COUNTED,
    LedgerEntry,
    Movement,
    MovementReport,
    StockEstimate,
    counted_known_at,
)
from stock.movements import MOVEMENT_ORIGIN, reconcile
from stock.selectors import estimate_series
from transfers.chains import roles_phrase
from transfers.choices import HoldingKind
from transfers.models import (
    Authorization,
    Citation,
    Holding,
    PartyRole,
    Pledge,
    Source,
    Transfer,
)
from transfers.selectors import OPEN_PLEDGE_STATUSES, policies_bearing_on

ATTRIBUTION = (
    "Stockpile: estimates derived from sourced records (imports of the SIPRI Arms Transfers "
    "Database, the Kiel Ukraine Support Tracker and Oryx's lists, and the documents cited); "
    "each number's sources are on its explanation page. Cite the original sources."
)
TRANSFER_ORIGIN = "transfers.transfer"


@dataclass
class Column:
    key: str
    label: str
    link: str = ""  # the row key holding this cell's link
    numeric: bool = False


@dataclass
class Table:
    name: str
    caption: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    empty: str = "Nothing recorded."
    # a paged table (the long ones: a party's estimates, a system's holders) holds one page
    # of rows: `total` is how many there are in all, `first` the position of rows[0]
    total: int | None = None
    first: int = 0
    pager: dict | None = None  # the links to the other pages (explorer.views)
    page_param: str = "page"  # the query parameter naming its page

    def body_html(self) -> str:
        """The table's rows as HTML (escaped text, links only to this site's pages), built
        here in one pass rather than in a template loop: a page prints thousands of cells.
        A numeric cell of a row resting on an unsourced record or on conflicting reports is
        marked; an empty numeric cell reads "–"."""
        if not self.rows:
            return format_html('<tr><td colspan="{}">{}</td></tr>', len(self.columns), self.empty)
        columns = [(c.key, c.link, c.numeric, f'<td data-key="{c.key}"') for c in self.columns]
        out = []
        for row in self.rows:
            marked = row.get("unsourced") or row.get("conflict")
            cells = ["<tr>"]
            for key, link, numeric, opening in columns:
                value = row.get(key)
                text = ("–" if numeric else "") if value is None else _escape(str(value))
                found = row.get(link) if link else None
                if found:
                    text = f'<a href="{_escape(found)}">{text}</a>'
                if numeric:
                    cells.append(
                        f'{opening} class="num marked">{text}</td>'
                        if marked
                        else f'{opening} class="num">{text}</td>'
                    )
                else:
                    cells.append(f"{opening}>{text}</td>")
            cells.append("</tr>")
            out.append("".join(cells))
        return mark_safe("".join(out))  # every value above is escaped

    def export_rows(self) -> list[dict]:
        """The rows as downloads carry them: the columns' values, no links."""
        return [{c.key: row.get(c.key) for c in self.columns} for row in self.rows]


@functools.cache
def _url_parts(name: str, arity: int) -> tuple[str, ...]:
    """The literal pieces of a page's URL around its arguments (reversed once per name,
    with digits as placeholders, which every converter accepts)."""
    pattern = reverse(name, args=[f"98765432{i}0" for i in range(arity)])
    parts = []
    for i in range(arity):
        head, pattern = pattern.split(f"98765432{i}0", 1)
        parts.append(head)
    return (*parts, pattern)


def url(name: str, *args) -> str:
    """`reverse` for the pages' own URLs, resolved once per name (a page links thousands of
    rows; each reverse costs as much as printing its row): the pieces joined with the
    arguments, quoted (ids as they are)."""
    parts = _url_parts(name, len(args))
    found = [parts[0]]
    for arg, part in zip(args, parts[1:], strict=True):
        found.append(str(arg) if type(arg) is int else quote(str(arg), safe=""))
        found.append(part)
    return "".join(found)


def range_text(low, high) -> str:
    return Range(low or 0, high).display()


def explain_url(holder_code: str, system_id: int, scope: str = EstimateScope.SYSTEM) -> str:
    found = url("explorer:explain", holder_code, system_id)
    return f"{found}?scope=family" if scope == EstimateScope.FAMILY else found


def _summed(prefix: str = "") -> dict:
    """Sum of the quantity range of ledger rows: low, high and how many highs are unbounded."""
    return {
        "lo": Sum(f"{prefix}quantity_low"),
        "hi": Sum(f"{prefix}quantity_high"),
        "unbounded": Sum(
            Case(
                When(**{f"{prefix}quantity_high__isnull": True}, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        ),
        "n": Count("pk"),
    }


def _range_of(row: dict) -> Range:
    return Range(row["lo"] or 0, None if row["unbounded"] else (row["hi"] or 0))


def counted(known_at: dt.datetime | None = None) -> Q:
    """The ledger rows that count: now, or as the database knew them at `known_at`."""
    return COUNTED if known_at is None else counted_known_at(known_at)


def counted_received(known_at: dt.datetime | None = None, **filters):
    """The counted ledger rows of deliveries received, each with its donor (from the
    transfer or the movement it stands for)."""
    donor = Case(
        When(
            origin_model=TRANSFER_ORIGIN,
            then=Subquery(Transfer.objects.filter(pk=OuterRef("origin_id")).values("donor_id")[:1]),
        ),
        When(
            origin_model=MOVEMENT_ORIGIN,
            then=Subquery(Movement.objects.filter(pk=OuterRef("origin_id")).values("donor_id")[:1]),
        ),
        default=Value(None),
        output_field=IntegerField(),
    )
    return LedgerEntry.objects.filter(
        counted(known_at), kind=LedgerKind.RECEIVED, **filters
    ).annotate(donor_id=donor)


def _names(ids) -> dict[int, Country]:
    ids = {i for i in ids if i is not None}
    return {c.pk: c for c in Country.objects.filter(pk__in=ids)} if ids else {}


def _estimate_row(estimate: StockEstimate, holder: Country, system: WeaponSystem) -> dict:
    flags = []
    if estimate.conflict:
        flags.append("conflicting reports")
    if estimate.inconsistent:
        flags.append("inconsistent")
    if not estimate.has_baseline:
        flags.append("no count")
    if estimate.unsourced_count:
        flags.append(f"{estimate.unsourced_count} unsourced")
    return {
        "holder": holder.name,
        "holder_url": url("explorer:party", holder.code),
        "system": system.name,
        "system_url": url("explorer:system", system.pk),
        "scope": estimate.scope,
        "on_hand": headline_of(estimate),
        "on_hand_low": estimate.on_hand_low,
        "on_hand_high": estimate.on_hand_high,
        "incoming": estimate.incoming.display(),
        "projected": estimate.projected.display(),
        "grade": "–".join(g for g in (estimate.best_grade, estimate.weakest_grade) if g)
        or "unsourced",
        "records": estimate.record_count,
        "flags": ", ".join(flags),
        "explain_url": explain_url(holder.code, system.pk, estimate.scope),
        "conflict": estimate.conflict,
        "unsourced": bool(estimate.unsourced_count),
    }


ESTIMATE_COLUMNS = [
    Column("on_hand", "On hand", link="explain_url", numeric=True),
    Column("on_hand_low", "Low", link="explain_url", numeric=True),
    Column("on_hand_high", "High", link="explain_url", numeric=True),
    Column("incoming", "Incoming", link="explain_url", numeric=True),
    Column("projected", "Projected", link="explain_url", numeric=True),
    Column("grade", "Grades"),
    Column("records", "Records", link="explain_url", numeric=True),
    Column("flags", "Marks"),
]


def band_chart(title: str, points: list, explain: str) -> dict:
    """A band chart's data: per month the on-hand low and high (None: unknown)."""
    return {
        "title": title,
        "explain_url": explain,
        "points": [
            {"label": p.as_of.strftime("%Y-%m"), "low": p.on_hand_low, "high": p.on_hand_high}
            for p in points
        ],
    }


# -- party --------------------------------------------------------------------------------


PAGE_SIZE = 100  # rows of a long table per page (the downloads carry every row)


def _paged(queryset, order: list, page: int | None, *, charted: list | None = None):
    """One page of a queryset and how many rows it has in all, in one query: each row's
    position in `order` and the total are window functions, the page is a filter on the
    position. With `charted` (an order), the first three rows in that order come along
    too (the party's charts), whatever the page. Returns (the page's rows, the charted
    rows, the total). `page` None: every row."""
    position = Window(RowNumber(), order_by=order)
    windows = {"position": position, "rows_total": Window(Count("pk"))}
    if charted is not None:
        windows["prominence"] = Window(RowNumber(), order_by=charted)
    found = queryset.annotate(**windows)
    if page is not None:
        start = (page - 1) * PAGE_SIZE
        kept = Q(position__gt=start, position__lte=start + PAGE_SIZE)
        if charted is not None:
            kept |= Q(prominence__lte=3)
        found = found.filter(kept)
    found = list(found.order_by(F("position").asc()))
    rows = [
        row
        for row in found
        if page is None or (page - 1) * PAGE_SIZE < row.position <= page * PAGE_SIZE
    ]
    top = sorted(
        (row for row in found if charted is not None and row.prominence <= 3),
        key=lambda row: row.prominence,
    )
    return rows, top, found[0].rows_total if found else 0


def _stored_estimates(party: Country, page: int | None) -> tuple[list, list, int]:
    """A page of the party's stored estimates (by scope, then system), the three with the
    most records (charted), and how many there are."""
    return _paged(
        StockEstimate.objects.filter(holder=party).select_related("system"),
        [F("scope").asc(), F("system__name").asc(), F("pk").asc()],
        page,
        charted=[
            F("record_count").desc(),
            F("system__name").asc(),
            F("scope").asc(),
            F("pk").asc(),
        ],
    )


def estimates_known_at(
    party: Country, known_at: dt.datetime, today: dt.date, page: int | None = None
) -> tuple[list, int]:
    """The party's estimates as of today from the ledger rows the database knew at
    `known_at` (unsaved, with their systems' names), by scope then system name: that page
    of them (None: all) and how many there are. Only the page's rows become instances."""
    from stock.selectors import estimate_rows_as_of

    found = [
        *estimate_rows_as_of(today, holder_ids=[party.pk], known_at=known_at),
        *estimate_rows_as_of(
            today, holder_ids=[party.pk], scope=EstimateScope.FAMILY, known_at=known_at
        ),
    ]
    names = dict(
        WeaponSystem.objects.filter(pk__in={r["system_id"] for r in found}).values_list(
            "pk", "name"
        )
    )
    found.sort(key=lambda r: (r["scope"], names[r["system_id"]], r["system_id"]))
    shown = found if page is None else found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    estimates = []
    for row in shown:
        estimate = StockEstimate(computed_at=None, **row)
        estimate.system = WeaponSystem(pk=row["system_id"], name=names[row["system_id"]])
        estimates.append(estimate)
    return estimates, len(found)


def party_page(
    party: Country,
    *,
    today: dt.date | None = None,
    known_at: dt.datetime | None = None,
    page: int | None = None,
) -> dict:
    """Estimates per system and family; on hand over time (the three best documented);
    received by donor and year; pledges against deliveries; losses; authorizations in
    force. `known_at`: the numbers of stock as the database knew them then (the stored
    monthly series is today's, so no chart is drawn). `page`: that page of the
    estimates (`PAGE_SIZE` rows; None: every row, for the downloads)."""
    today = today or timezone.localdate()
    if known_at is not None:
        estimates, total = estimates_known_at(party, known_at, today, page)
        charted = []
    else:
        estimates, charted, total = _stored_estimates(party, page)
    est_table = Table(
        "estimates",
        f"Estimated holdings of {party.name}, per system and per family",
        [
            Column("system", "System", link="system_url"),
            Column("scope", "Scope"),
            *ESTIMATE_COLUMNS,
        ],
        [_estimate_row(e, party, e.system) for e in estimates],
        empty="No estimate: no counted record names this party as a holder.",
        total=total,
        first=0 if page is None else (page - 1) * PAGE_SIZE,
    )
    charts = [
        band_chart(
            f"{e.system.name}{' (family)' if e.scope == EstimateScope.FAMILY else ''} "
            f"on hand, low–high",
            estimate_series(party.pk, e.system_id, e.scope, today=today),
            explain_url(party.code, e.system_id, e.scope),
        )
        for e in charted
    ]
    if known_at is not None:
        charts = []
    received = list(
        counted_received(known_at, holder=party)
        .annotate(year=ExtractYear("date"))
        .values("donor_id", "year")
        .annotate(**_summed())
        .order_by("donor_id", "year")
    )
    donors = _names(r["donor_id"] for r in received)
    by_donor = Table(
        "received",
        f"Received by {party.name}, by donor and year (counted deliveries)",
        [
            Column("donor", "Donor", link="flow_url"),
            Column("year", "Year"),
            Column("quantity", "Units", link="flow_url", numeric=True),
            Column("low", "Low", link="flow_url", numeric=True),
            Column("high", "High", link="flow_url", numeric=True),
            Column("deliveries", "Deliveries", link="flow_url", numeric=True),
        ],
    )
    for row in received:
        donor = donors.get(row["donor_id"])
        total = _range_of(row)
        by_donor.rows.append(
            {
                "donor": donor.name if donor else "undisclosed",
                "year": row["year"] or "date unknown",
                "quantity": total.display(),
                "low": total.low,
                "high": total.high,
                "deliveries": row["n"],
                "flow_url": url("explorer:flow", donor.code, party.code) if donor else "",
            }
        )
    return {
        "title": party.name,
        "party": party,
        "changes_since": (today - dt.timedelta(days=30)).isoformat(),
        "charts": charts,
        "bars": _donor_bars(by_donor),
        "tables": [
            est_table,
            by_donor,
            pledges_table(Pledge.objects.filter(recipient=party), party.name, today),
            losses_table(party, known_at),
            authorizations_table(party, today),
        ],
    }


def _donor_bars(table: Table) -> dict:
    """A bar chart of the received table's totals per donor (low solid, high as a lighter
    extension, unknown high marked)."""
    totals: dict[str, list] = {}
    for row in table.rows:
        item = totals.setdefault(row["donor"], [0, 0, row["flow_url"]])
        item[0] += row["low"]
        item[1] = None if item[1] is None or row["high"] is None else item[1] + row["high"]
    return {
        "title": "Received, by donor (all years)",
        "bars": [
            {"label": name, "low": low, "high": high, "url": url}
            for name, (low, high, url) in sorted(totals.items(), key=lambda kv: -kv[1][0])
        ],
    }


PLEDGE_ORIGIN = "transfers.pledge"


def pledges_table(pledges, subject: str, today: dt.date) -> Table:
    """Pledges with what was delivered against them, what is outstanding and for how long:
    one row per pledge *movement* — the pledge records that the matching merged into one
    movement (several datasets reporting the same pledge, docs/reconciliation.md) are one
    row, their numbers reconciled as the movement's are (each dataset's records add up,
    then the datasets' statements are intersected, or covered and marked when they
    disagree); a pledge in no movement is a row of its own (docs/explorer.md)."""
    report = MovementReport.objects.filter(origin_model=PLEDGE_ORIGIN, origin_id=OuterRef("pk"))
    rows = (
        pledges.select_related("donor", "recipient", "system")
        .prefetch_related(Prefetch("roles", queryset=PartyRole.objects.select_related("party")))
        .annotate(
            delivered_lo=Coalesce(Sum("deliveries__quantity_low"), 0),
            delivered_hi=Sum("deliveries__quantity_high"),
            delivered_unbounded=Count("deliveries", filter=Q(deliveries__quantity_high=None)),
            movement_id=Subquery(report.values("movement_id")[:1]),
            dataset=Subquery(report.values("dataset")[:1]),
        )
        .order_by("-date", "-id")
    )
    table = Table(
        "pledges",
        f"Pledges to {subject}: pledged, delivered, outstanding (a pledge that several "
        f"datasets report counts once)",
        [
            Column("donor", "Donor", link="flow_url"),
            Column("system", "System", link="system_url"),
            Column("date", "Announced"),
            Column("status", "Status"),
            Column("pledged", "Pledged", link="explain_url", numeric=True),
            Column("delivered", "Delivered", link="explain_url", numeric=True),
            Column("outstanding", "Outstanding", link="explain_url", numeric=True),
            Column("days_outstanding", "Days outstanding", numeric=True),
            Column("reports", "Reports", numeric=True),
            Column("flags", "Marks"),
            Column("parties", "Other parties"),
            Column("policies", "Policies bearing on it"),
        ],
    )
    rows = list(rows)
    policies = policies_bearing_on(rows)
    groups: dict[object, list] = {}
    for pledge in rows:  # newest first; a movement's row stands where its newest report is
        key = ("movement", pledge.movement_id) if pledge.movement_id else ("pledge", pledge.pk)
        groups.setdefault(key, []).append(pledge)
    for members in groups.values():
        table.rows.append(_pledge_row(members, policies, today))
    return table


def _pledge_row(members: list, policies: dict, today: dt.date) -> dict:
    """One row of the pledges table: one pledge record, or the records of one movement."""
    numbers: dict[str, list[Range]] = {"pledged": [], "delivered": [], "outstanding": []}
    by_dataset: dict[str, dict[str, list[Range]]] = {}
    for pledge in members:
        pledged = Range(pledge.quantity_low or 0, pledge.quantity_high)
        delivered = Range(
            pledge.delivered_lo, None if pledge.delivered_unbounded else (pledge.delivered_hi or 0)
        )
        is_open = pledge.status in OPEN_PLEDGE_STATUSES
        outstanding = range_minus(pledged, delivered)[0] if is_open else Range(0, 0)
        mine = by_dataset.setdefault(
            pledge.dataset or f"pledge:{pledge.pk}",
            {"pledged": [], "delivered": [], "outstanding": []},
        )
        for name, value in (
            ("pledged", pledged),
            ("delivered", delivered),
            ("outstanding", outstanding),
        ):
            mine[name].append(value)
    conflict = False
    for name in numbers:
        totals = [range_sum(statement[name]) for statement in by_dataset.values()]
        numbers[name], disagree = reconcile(totals)
        conflict = conflict or (disagree and len(totals) > 1)
    newest = members[0]
    dated = [p for p in members if p.date is not None]
    first = min(dated, key=lambda p: p.date) if dated else newest  # the earliest announced
    open_dates = [
        p.date for p in members if p.status in OPEN_PLEDGE_STATUSES and p.date is not None
    ]
    flags = []
    if conflict:
        flags.append("conflicting reports")
    if len(by_dataset) > 1:
        flags.append(f"reported by {len(by_dataset)} datasets, counted once")
    return {
        "donor": newest.donor_display,
        "flow_url": url("explorer:flow", newest.donor.code, newest.recipient.code)
        if newest.donor_id
        else "",
        "system": newest.system.name,
        "system_url": url("explorer:system", newest.system_id),
        "date": first.date_display,
        "status": "; ".join(dict.fromkeys(p.get_status_display() for p in members)),
        "pledged": numbers["pledged"].display(),
        "delivered": numbers["delivered"].display(),
        "outstanding": numbers["outstanding"].display(),
        "days_outstanding": (today - min(open_dates)).days if open_dates else None,
        "reports": len(members),
        "flags": ", ".join(flags),
        "conflict": conflict,
        # issue 17: who arranged, financed or consented ("via United States"), and
        # the stated policies about such transfers ("will not transfer ATACMS")
        "parties": "; ".join(
            dict.fromkeys(phrase for p in members if (phrase := roles_phrase(p.roles.all())))
        ),
        "policies": "; ".join(
            dict.fromkeys(
                f"{policy} ({policy.date_display})" if policy.date else str(policy)
                for p in members
                for policy in policies.get(p.pk, [])
            )
        ),
        "explain_url": explain_url(newest.recipient.code, newest.system_id),
    }


def losses_table(party: Country, known_at: dt.datetime | None = None) -> Table:
    rows = list(
        LedgerEntry.objects.filter(counted(known_at), holder=party, kind=LedgerKind.EXPENDED)
        .values("system_id", "system__name")
        .annotate(**_summed())
        .order_by("system__name")
    )
    table = Table(
        "losses",
        f"Losses and use by {party.name} (launched, destroyed, captured, retired)",
        [
            Column("system", "System", link="system_url"),
            Column("quantity", "Units", link="explain_url", numeric=True),
            Column("reports", "Counted reports", link="explain_url", numeric=True),
        ],
    )
    for row in rows:
        table.rows.append(
            {
                "system": row["system__name"],
                "system_url": url("explorer:system", row["system_id"]),
                "quantity": _range_of(row).display(),
                "reports": row["n"],
                "explain_url": explain_url(party.code, row["system_id"]),
            }
        )
    return table


def authorizations_table(party: Country, today: dt.date) -> Table:
    rows = (
        Authorization.objects.filter(holder=party)
        .filter(Q(date__isnull=True) | Q(date__lte=today))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .select_related("grantor", "system")
        .order_by("-date", "-id")
    )
    table = Table(
        "authorizations",
        f"Authorizations in force for {party.name}",
        [
            Column("grantor", "Grantor", link="grantor_url"),
            Column("system", "System", link="system_url"),
            Column("kind", "Kind"),
            Column("scope", "Scope"),
            Column("since", "Since"),
            Column("until", "Until"),
        ],
        empty="None in force.",
    )
    for item in rows:
        table.rows.append(
            {
                "grantor": item.grantor.name,
                "grantor_url": url("explorer:party", item.grantor.code),
                "system": item.system.name,
                "system_url": url("explorer:system", item.system_id),
                "kind": item.get_kind_display(),
                "scope": item.scope,
                "since": item.date_display,
                "until": item.valid_until.isoformat() if item.valid_until else "open-ended",
            }
        )
    return table


# -- system -------------------------------------------------------------------------------


def system_page(system: WeaponSystem, *, page: int | None = None) -> dict:
    """Who holds it (with its variants), who ordered it, flows from donor to recipient,
    range and maker. `page`: that page of the holders (None: every row)."""
    members = weapon_system_family_ids(system)
    variants = list(
        WeaponSystem.objects.filter(pk__in=members).exclude(pk=system.pk).order_by("name")
    )
    scope = EstimateScope.FAMILY if variants else EstimateScope.SYSTEM
    estimates, _, total = _paged(
        StockEstimate.objects.filter(system=system, scope=scope).select_related("holder"),
        [F("on_hand_low").desc(), F("holder__name").asc(), F("pk").asc()],
        page,
    )
    holders = Table(
        "holders",
        f"Who holds {system.name}{' and its variants' if variants else ''}",
        [Column("holder", "Holder", link="holder_url"), *ESTIMATE_COLUMNS],
        [_estimate_row(e, e.holder, system) for e in estimates],
        total=total,
        first=0 if page is None else (page - 1) * PAGE_SIZE,
    )
    orders = Table(
        "orders",
        f"Orders of {system.name} (contracted holdings)",
        [
            Column("holder", "Ordered by", link="holder_url"),
            Column("supplier", "From"),
            Column("system", "System", link="system_url"),
            Column("date", "Date"),
            Column("quantity", "Units", link="explain_url", numeric=True),
            Column("sourced", "Sources", numeric=True),
        ],
    )
    for holding in (
        Holding.objects.filter(system_id__in=members, kind=HoldingKind.CONTRACTED)
        .select_related("holder", "supplier", "system")
        .annotate(citation_count=Count("citations"))
        .order_by("-date", "holder__name")
    ):
        orders.rows.append(
            {
                "holder": holding.holder.name,
                "holder_url": url("explorer:party", holding.holder.code),
                "supplier": holding.supplier.name if holding.supplier_id else "not stated",
                "system": holding.system.name,
                "system_url": url("explorer:system", holding.system_id),
                "date": holding.date_display,
                "quantity": Range(holding.quantity_low or 0, holding.quantity_high).display(),
                "sourced": holding.citation_count or "unsourced",
                "explain_url": explain_url(holding.holder.code, holding.system_id),
            }
        )
    flows = flows_table(
        counted_received(system_id__in=members), f"Deliveries of {system.name}, donor → recipient"
    )
    return {
        "title": system.name,
        "system": system,
        "variants": variants,
        "charts": [],
        "bars": {
            "title": "Delivered, by donor → recipient",
            "bars": [
                {
                    "label": f"{r['donor']} → {r['recipient']}",
                    "low": r["low"],
                    "high": r["high"],
                    "url": r["flow_url"],
                }
                for r in flows.rows[:15]
            ],
        },
        "tables": [holders, orders, flows],
    }


def flows_table(rows, caption: str) -> Table:
    grouped = list(rows.values("donor_id", "holder_id").annotate(**_summed()).order_by("-lo"))
    parties = _names([r["donor_id"] for r in grouped] + [r["holder_id"] for r in grouped])
    table = Table(
        "flows",
        caption,
        [
            Column("donor", "Donor", link="flow_url"),
            Column("recipient", "Recipient", link="flow_url"),
            Column("quantity", "Units", link="flow_url", numeric=True),
            Column("low", "Low", link="flow_url", numeric=True),
            Column("high", "High", link="flow_url", numeric=True),
            Column("deliveries", "Deliveries", link="flow_url", numeric=True),
        ],
    )
    for row in grouped:
        donor, recipient = parties.get(row["donor_id"]), parties[row["holder_id"]]
        total = _range_of(row)
        table.rows.append(
            {
                "donor": donor.name if donor else "undisclosed",
                "recipient": recipient.name,
                "quantity": total.display(),
                "low": total.low,
                "high": total.high,
                "deliveries": row["n"],
                "flow_url": url("explorer:flow", donor.code, recipient.code) if donor else "",
            }
        )
    return table


# -- flow ---------------------------------------------------------------------------------


def flow_page(
    donor: Country,
    recipient: Country,
    *,
    today: dt.date | None = None,
    known_at: dt.datetime | None = None,
) -> dict:
    """Every counted delivery from a donor to a recipient, per system, and the pledges."""
    today = today or timezone.localdate()
    rows = list(
        counted_received(known_at, holder=recipient)
        .filter(donor_id=donor.pk)
        .values("system_id", "system__name")
        .annotate(**_summed())
        .order_by("-lo", "system__name")
    )
    deliveries = Table(
        "deliveries",
        f"Delivered by {donor.name} to {recipient.name}, per system (counted deliveries)",
        [
            Column("system", "System", link="system_url"),
            Column("quantity", "Units", link="explain_url", numeric=True),
            Column("low", "Low", link="explain_url", numeric=True),
            Column("high", "High", link="explain_url", numeric=True),
            Column("deliveries", "Deliveries", link="explain_url", numeric=True),
        ],
    )
    for row in rows:
        total = _range_of(row)
        deliveries.rows.append(
            {
                "system": row["system__name"],
                "system_url": url("explorer:system", row["system_id"]),
                "quantity": total.display(),
                "low": total.low,
                "high": total.high,
                "deliveries": row["n"],
                "explain_url": explain_url(recipient.code, row["system_id"]),
            }
        )
    return {
        "title": f"{donor.name} → {recipient.name}",
        "donor": donor,
        "recipient": recipient,
        "charts": [],
        "bars": {
            "title": "Delivered, per system",
            "bars": [
                {"label": r["system"], "low": r["low"], "high": r["high"], "url": r["explain_url"]}
                for r in deliveries.rows[:15]
            ],
        },
        "tables": [
            deliveries,
            pledges_table(
                Pledge.objects.filter(donor=donor, recipient=recipient), recipient.name, today
            ),
        ],
    }


# -- source -------------------------------------------------------------------------------

RECORD_RELATED = (
    "holding__holder",
    "holding__system",
    "pledge__donor",
    "pledge__recipient",
    "pledge__system",
    "transfer__donor",
    "transfer__recipient",
    "transfer__system",
    "expenditure__holder",
    "expenditure__system",
    "authorization__grantor",
    "authorization__holder",
    "authorization__system",
)


def _record_pair(record) -> tuple[Country | None, WeaponSystem]:
    holder = getattr(record, "recipient", None) or getattr(record, "holder", None)
    return holder, record.system


def source_page(source: Source) -> dict:
    """Every claim citing a source, with the quoted words and the grade."""
    claims = Table(
        "claims",
        f"Claims citing “{source.title}”",
        [
            Column("record_type", "Record"),
            Column("record", "Claim", link="explain_url"),
            Column("date", "Date"),
            Column("excerpt", "Excerpt"),
            Column("stance", "Stance"),
            Column("grade", "Grade"),
        ],
    )
    for citation in (
        Citation.objects.filter(source=source)
        .select_related("source", *RECORD_RELATED)
        .order_by("pk")
    ):
        record = citation.record
        if record is None:
            continue
        holder, system = _record_pair(record)
        claims.rows.append(
            {
                "record_type": record._meta.verbose_name,
                "record": str(record),
                "date": record.date_display,
                "excerpt": citation.excerpt,
                "stance": citation.get_stance_display(),
                "grade": citation.grade or "not graded",
                "explain_url": explain_url(holder.code, system.pk)
                if holder is not None and not isinstance(record, Authorization)
                else "",
            }
        )
    return {"title": source.title, "source": source, "charts": [], "bars": None, "tables": [claims]}


# -- search -------------------------------------------------------------------------------


def search(term: str, *, limit: int = 20) -> dict:
    """Parties and systems whose name, code or alias matches, best first (the admin's
    ranking, inventory.search)."""
    term = term.strip()
    parties = Table(
        "parties", "Parties", [Column("name", "Party", link="url"), Column("code", "Code")]
    )
    systems = Table(
        "systems",
        "Weapon systems",
        [Column("name", "System", link="url"), Column("family", "Family of")],
    )
    if term:
        key = normalize_alias(term)
        party_aliases = CountryAlias.objects.filter(alias_normalized__contains=key).values(
            "country_id"
        )
        matching = Country.objects.filter(
            Q(name__icontains=term)
            | Q(code__iexact=term)
            | Q(iso_alpha3__iexact=term)
            | Q(pk__in=party_aliases)
        )
        for party in parties_ranked(matching, term)[:limit]:
            parties.rows.append(
                {
                    "name": party.name,
                    "code": party.code,
                    "url": url("explorer:party", party.code),
                }
            )
        system_aliases = WeaponSystemAlias.objects.filter(alias_normalized__contains=key).values(
            "system_id"
        )
        found = WeaponSystem.objects.filter(
            Q(name__icontains=term) | Q(pk__in=system_aliases)
        ).select_related("parent")
        for system in systems_ranked(found, term)[:limit]:
            systems.rows.append(
                {
                    "name": system.name,
                    "family": system.parent.name if system.parent_id else "",
                    "url": url("explorer:system", system.pk),
                }
            )
    return {
        "title": f"Search: {term}" if term else "Search",
        "charts": [],
        "bars": None,
        "tables": [parties, systems],
        "term": term,
    }


# -- why this number ----------------------------------------------------------------------


class ExplanationTable(Table):
    """The ledger rows behind an estimate, each with its citations in a last cell."""

    def body_html(self) -> str:
        """The rows as HTML in one pass (escaped text; the sources' links are this site's
        pages): a family's explanation lists hundreds of rows and their citations."""
        if not self.rows:
            return format_html('<tr><td colspan="8">{}</td></tr>', self.empty)
        out = []
        for row in self.rows:
            marked = row["unsourced"] or row["conflict"]
            cells = [
                '<tr class="unsourced">' if row["unsourced"] else "<tr>",
                "\n    ",
                *(f"<td>{_escape(str(row[key]))}</td>" for key in ("date", "kind", "system")),
                f'<td class="num{" marked" if marked else ""}">{_escape(str(row["quantity"]))}</td>',
                *(f"<td>{_escape(str(row[key]))}</td>" for key in ("grade", "record", "status")),
                "\n    <td>",
            ]
            for c in row["citations"]:
                cells.append(
                    f'<p class="citation"><a href="{_escape(c["source_url"])}">'
                    f"{_escape(str(c['source']))}</a>"
                )
                if c["publisher"]:
                    cells.append(f" ({_escape(str(c['publisher']))})")
                cells.append(f", {_escape(str(c['grade']))}, {_escape(str(c['stance']).lower())}")
                if c["excerpt"]:
                    cells.append(f": <q>{_escape(str(c['excerpt']))}</q>")
                cells.append("</p>")
            if not row["citations"]:
                cells.append('<span class="mark-unsourced">unsourced</span>')
            cells.append("</td>\n  </tr>")
            out.append("".join(cells))
        return mark_safe("".join(out))  # every value above is escaped


def explanation_page(
    holder: Country, system: WeaponSystem, scope: str, *, known_at: dt.datetime | None = None
) -> dict:
    """An estimate and the ledger rows behind it, each with its record, citations (excerpt,
    grade, source) and marks: unsourced, conflicting, left out as a duplicate. `known_at`:
    the estimate and its rows as the database knew them then (the records' labels are the
    rows' frozen ones; the citations shown are today's)."""
    from stock.selectors import estimate_explanation, estimates_as_of

    if known_at is None:
        estimate = StockEstimate.objects.filter(holder=holder, system=system, scope=scope).first()
    else:
        found = estimates_as_of(
            timezone.localdate(),
            holder_ids=[holder.pk],
            system_ids=[system.pk],
            scope=scope,
            known_at=known_at,
        )
        estimate = found[0] if found else None
    rows = ExplanationTable(
        "rows",
        f"Why this number: {holder.name} × {system.name}"
        f"{' (family)' if scope == EstimateScope.FAMILY else ''}",
        [
            Column("date", "Date"),
            Column("kind", "Counts as"),
            Column("system", "System"),
            Column("quantity", "Units", numeric=True),
            Column("grade", "Grade"),
            Column("record", "Record"),
            Column("status", "Marks"),
        ],
        empty="No ledger row: nothing recorded for this holder and system.",
    )
    for item in estimate_explanation(
        holder_id=holder.pk, system_id=system.pk, scope=scope, known_at=known_at
    ):
        entry = item["entry"]
        marks = []
        if not item["counted"]:
            marks.append(f"left out: {item['left_out']}")
        if not entry.grade:
            marks.append("unsourced")
        movement = item["movement"]
        if movement and movement["movement"].conflict:
            marks.append("conflicting reports")
        rows.rows.append(
            {
                "date": entry.date_display,
                "kind": entry.get_kind_display(),
                "system": entry.system.name,
                "quantity": Range(entry.quantity_low, entry.quantity_high).display(),
                "grade": entry.grade or "unsourced",
                "record": entry.origin_label,
                "status": "; ".join(marks),
                "unsourced": not entry.grade,
                "conflict": bool(movement and movement["movement"].conflict),
                "citations": [
                    {
                        "source": c.source.title,
                        "source_url": url("explorer:source", c.source_id),
                        "publisher": c.source.publisher,
                        "excerpt": c.excerpt,
                        "grade": c.grade,
                        "stance": c.get_stance_display(),
                    }
                    for c in item["citations"]
                ],
            }
        )
    summary = _estimate_row(estimate, holder, system) if estimate is not None else None
    return {
        "title": rows.caption,
        "holder": holder,
        "system": system,
        "scope": scope,
        "estimate": summary,
        "charts": [],
        "bars": None,
        "tables": [rows],
    }


# -- what changed in what we know ---------------------------------------------------------

CHANGE_LABELS = {"+": "created", "~": "changed", "-": "deleted"}


def _moment_text(moment: dt.datetime | None) -> str:
    return "now" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _known_at_link(found: str, moment: dt.datetime | None) -> str:
    if moment is None:
        return found
    glue = "&" if "?" in found else "?"
    return f"{found}{glue}{urlencode({'known_at': moment.isoformat()})}"


def party_changes_page(
    party: Country,
    since: dt.datetime,
    until: dt.datetime | None = None,
    *,
    today: dt.date | None = None,
) -> dict:
    """What changed in what we know about a party between two moments (transaction time):
    the estimates whose numbers differ as the database knew them at `since` and at `until`
    (now when None), before → after, each linked to its explanation as known at that
    moment; and the records naming the party that were created, changed or deleted in
    between, with their quantity before and after (the history tables)."""
    from core.history import history_as_of, history_last_in
    from stock.selectors import estimates_compared
    from transfers.records import RECORD_TYPES

    today = today or timezone.localdate()
    compared = estimates_compared(since, until, as_of=today, holder_ids=[party.pk])
    systems = WeaponSystem.objects.in_bulk(
        {e.system_id for old, new, _ in compared for e in (old, new) if e is not None}
    )
    estimates = Table(
        "estimates",
        f"Estimates of {party.name} whose numbers changed between "
        f"{_moment_text(since)} and {_moment_text(until)}",
        [
            Column("system", "System", link="system_url"),
            Column("scope", "Scope"),
            Column("before", "On hand before", link="before_url", numeric=True),
            Column("after", "On hand after", link="after_url", numeric=True),
            Column("before_low", "Low before", link="before_url", numeric=True),
            Column("before_high", "High before", link="before_url", numeric=True),
            Column("after_low", "Low after", link="after_url", numeric=True),
            Column("after_high", "High after", link="after_url", numeric=True),
            Column("projected", "Projected, before → after"),
            Column("changed", "Numbers that changed"),
        ],
        empty="No estimate of this party changed between these moments.",
    )
    for old, new, changed in compared:
        either = new or old
        system = systems[either.system_id]
        explain = explain_url(party.code, system.pk, either.scope)
        estimates.rows.append(
            {
                "system": system.name,
                "system_url": url("explorer:system", system.pk),
                "scope": either.scope,
                "before": headline_of(old) if old is not None else "no estimate",
                "after": headline_of(new) if new is not None else "no estimate",
                "before_low": old.on_hand_low if old is not None else None,
                "before_high": old.on_hand_high if old is not None else None,
                "after_low": new.on_hand_low if new is not None else None,
                "after_high": new.on_hand_high if new is not None else None,
                "projected": " → ".join(
                    e.projected.display() if e is not None else "none" for e in (old, new)
                ),
                "changed": ", ".join(name.replace("_", " ") for name in changed),
                "before_url": _known_at_link(explain, since),
                "after_url": _known_at_link(explain, until),
            }
        )
    records = Table(
        "records",
        f"Records naming {party.name} created, changed or deleted between "
        f"{_moment_text(since)} and {_moment_text(until)}",
        [
            Column("record_type", "Record"),
            Column("change", "Change"),
            Column("at", "Last changed"),
            Column("system", "System", link="explain_url"),
            Column("parties", "Parties"),
            Column("date", "Date"),
            Column("quantity_before", "Units before", link="explain_url", numeric=True),
            Column("quantity_after", "Units after", link="explain_url", numeric=True),
        ],
        empty="No record naming this party changed between these moments.",
    )
    end = until or timezone.now()
    found = []
    for record_type in RECORD_TYPES:
        model, fields = record_type.model, record_type.parties
        names = Q()
        for name in fields:
            names |= Q(**{f"{name}_id": party.pk})
        window = model.history.filter(history_date__gt=since, history_date__lte=end)
        before = {
            row.id: row
            for row in history_as_of(model, since).filter(names, id__in=window.values("id"))
        }
        after = history_last_in(model, since, end).filter(names | Q(id__in=list(before)))
        for row in after.select_related("system", *fields):
            found.append((record_type, before.get(row.id), row))
    found.sort(key=lambda item: (item[2].history_date, item[2].history_id))
    for record_type, old, new in found:
        change = "created" if old is None else CHANGE_LABELS[new.history_type]
        if old is None and new.history_type == "-":
            change = "created and deleted"
        moves_stock = record_type.moves_stock
        parties = [getattr(new, name) for name in record_type.parties]
        records.rows.append(
            {
                "record_type": model_label(record_type.model),
                "change": change,
                "at": _moment_text(new.history_date),
                "system": new.system.name if new.system_id else "",
                "parties": " → ".join(p.name for p in parties if p is not None),
                "date": new.instance.date_display,
                "quantity_before": _quantity_of(old) if moves_stock else None,
                "quantity_after": ("deleted" if new.history_type == "-" else _quantity_of(new))
                if moves_stock
                else None,
                "explain_url": _known_at_link(explain_url(party.code, new.system_id), until)
                if moves_stock and new.system_id
                else "",
            }
        )
    return {
        "title": f"{party.name}: what changed in what we know",
        "party": party,
        "since": since,
        "until": until,
        "since_text": _moment_text(since),
        "until_text": _moment_text(until),
        "charts": [],
        "bars": None,
        "tables": [estimates, records],
    }


def model_label(model) -> str:
    return str(model._meta.verbose_name)


def _quantity_of(row) -> str | None:
    from core.quantities import format_range

    return None if row is None else format_range(row.quantity_low, row.quantity_high)
