"""Admin for the derived stock estimates: a changelist with filters, and on each estimate
its explanation ("why this number": the ledger rows, the records and their citations) and
its monthly history. Estimates are derived data: nobody edits them by hand."""

from __future__ import annotations

import functools

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from core.admin import TrackedAdmin
from core.admin_access import (
    DeclaredPermissionsMixin,
    model_admin_requires,
    register_action_permission,
)
from core.admin_paging import IndexedValuesFilter, LargeListMixin
from core.values import format_date
from core.weblinks import web_link
from inventory.admin import CountryAdmin, WeaponSystemAdmin
from inventory.models import Country
from stock.choices import MatchStatus
from stock.headline import headline_of
from stock.models import (
    LedgerEntry,
    MatchDecision,
    Movement,
    MovementConflict,
    MovementReport,
    StockEstimate,
)
from stock.refresh import estimates_refresh_pairs
from stock.selectors import conflict_since, estimate_explanation, estimate_series
from stock.services import (
    match_confirm,
    match_reject,
    match_set_status,
    movement_merge,
    movement_split,
)


class EstimateRangesMixin:
    """The ranges and grades of an estimate as columns and read-only fields."""

    @admin.display(description="on hand")
    def on_hand_range(self, obj):
        return headline_of(obj)

    @admin.display(description="incoming")
    def incoming_range(self, obj):
        return obj.incoming.display()

    @admin.display(description="outgoing")
    def outgoing_range(self, obj):
        return obj.outgoing.display()

    @admin.display(description="projected")
    def projected_range(self, obj):
        return obj.projected.display()

    @admin.display(description="grades")
    def grades(self, obj):
        if not obj.best_grade:
            return "unsourced"
        return f"{obj.best_grade}–{obj.weakest_grade}"


class EstimateInline(EstimateRangesMixin, admin.TabularInline):
    """The current estimates of a country or a system, read-only, each linking to its
    explanation ("why this number").

    Drawn as one table (`estimates_table`, in the template), not as a formset of read-only
    forms: Django renders each form's hidden inputs and each read-only cell through its
    templates, 2–3 ms a row, 300 ms for the 100 rows of a big holder. The formset itself
    holds no forms (nothing here is edited), so a saved country or system posts none."""

    model = StockEstimate
    template = "admin/stock/estimates_inline.html"
    show_on_add = False  # the add page has no estimates (nor their management form)
    extra = 0
    can_delete = False
    show_change_link = False
    fields = [
        "subject",
        "scope",
        "on_hand_range",
        "incoming_range",
        "outgoing_range",
        "projected_range",
        "grades",
        "record_count",
        "flags",
        "why",
    ]
    readonly_fields = fields
    verbose_name_plural = (
        "current stock estimates (derived from the ledger; the 100 with the most records — "
        "all of them in Stock estimates)"
    )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    #: A country or system page lists this many estimates at most (those with the most
    #: records); the estimates list has them all. A big holder has thousands.
    shown = 100

    def get_queryset(self, request):
        return super().get_queryset(request).none()  # the table has the rows

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # called by the template (a callable is), so only when the page is drawn
        formset.estimates_table = functools.partial(self.estimates_table, obj)
        return formset

    def shown_estimates(self, obj) -> list[StockEstimate]:
        """The `shown` estimates with the most records, in the estimates' order."""
        if obj is None or obj.pk is None:
            return []
        biggest = (
            StockEstimate.objects.filter(**{self.fk_name: obj})
            .select_related("holder", "system")
            .order_by("-record_count", "pk")[: self.shown]
        )
        return sorted(biggest, key=lambda e: (e.holder.name, e.system.name, e.scope))

    def estimates_table(self, obj) -> str:
        estimates = self.shown_estimates(obj)
        if not estimates:
            return ""
        header = format_html_join(
            "",
            '<th class="column-{}">{}</th>',
            ((name, capfirst(self._label(name))) for name in self.fields),
        )
        rows = format_html_join(
            "",
            '<tr class="form-row">{}</tr>',
            (
                (
                    format_html_join(
                        "",
                        '<td class="field-{}">{}</td>',
                        ((name, self._cell(name, estimate)) for name in self.fields),
                    ),
                )
                for estimate in estimates
            ),
        )
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, rows
        )

    def _label(self, name: str) -> str:
        if hasattr(self, name):
            return getattr(self, name).short_description
        return StockEstimate._meta.get_field(name).verbose_name

    def _cell(self, name: str, estimate: StockEstimate):
        if name == "scope":
            return estimate.get_scope_display()
        if hasattr(self, name):
            return getattr(self, name)(estimate)
        return getattr(estimate, name)

    @admin.display(description="flags")
    def flags(self, obj):
        flags = []
        if obj.inconsistent:
            flags.append("INCONSISTENT")
        if not obj.has_baseline:
            flags.append("no baseline")
        if obj.unsourced_count:
            flags.append(f"{obj.unsourced_count} unsourced")
        return ", ".join(flags) or "–"

    @admin.display(description="why this number")
    def why(self, obj):
        url = reverse("admin:stock_stockestimate_change", args=[obj.pk])
        return format_html('<a href="{}">explanation</a>', url)


class HolderEstimateInline(EstimateInline):
    fk_name = "holder"

    @admin.display(description="system")
    def subject(self, obj):
        return obj.system


class SystemEstimateInline(EstimateInline):
    fk_name = "system"

    @admin.display(description="holder")
    def subject(self, obj):
        return obj.holder


@admin.action(
    description="Refresh the stock estimates of the selected now",
    permissions=["refresh_estimates"],
)
def refresh_estimates_now(modeladmin, request, queryset):
    from django.db.models import Q

    from stock.refresh import estimates_refresh_pairs

    field = "holder_id" if queryset.model is Country else "system_id"
    ids = list(queryset.values_list("pk", flat=True))
    pairs = set(
        LedgerEntry.objects.filter(Q(**{f"{field}__in": ids}), is_cancelled=False)
        .values_list("holder_id", "system_id")
        .distinct()
    )
    pairs |= set(
        StockEstimate.objects.filter(**{f"{field}__in": ids}).values_list("holder_id", "system_id")
    )
    result = estimates_refresh_pairs(pairs)
    modeladmin.message_user(
        request,
        f"Refreshed the estimates of {result['pairs']} holder × system pair(s).",
        messages.SUCCESS,
    )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(LargeListMixin, DeclaredPermissionsMixin, admin.ModelAdmin):
    """The stock ledger, read-only: rows are posted and cancelled by the records' services."""

    list_display = [
        "posted_at",
        "holder",
        "system",
        "kind",
        "quantity_low",
        "quantity_high",
        "when",
        "date_earliest",
        "date_latest",
        "grade",
        "origin_label",
        "is_cancelled",
    ]
    list_filter = ["kind", "is_cancelled", "date_precision"]
    list_select_related = ["holder", "system"]
    search_fields = ["origin_label", "holder__name", "system__name", "origin_model"]
    # Newest first, by the primary key's index: the model's ordering (holder, system: their
    # names) sorted all 1.8 M rows at a million records (8 s); no date hierarchy (its
    # DISTINCT over posted_at read the whole table).
    ordering = ["-id"]
    list_per_page = 100

    @admin.display(description="date", ordering="date")
    def when(self, obj):
        """At its precision: Nov 2024, 2024."""
        return format_date(obj.date, obj.date_precision)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The catalogue's pages show their estimates and can refresh them: the stock app extends the
# catalogue's admin (a lower layer) rather than the catalogue importing the stock app.
CountryAdmin.inlines = [*CountryAdmin.inlines, HolderEstimateInline]
CountryAdmin.actions = [*CountryAdmin.actions, refresh_estimates_now]
WeaponSystemAdmin.inlines = [*WeaponSystemAdmin.inlines, SystemEstimateInline]
WeaponSystemAdmin.actions = [*WeaponSystemAdmin.actions, refresh_estimates_now]


@admin.action(description="Refresh the selected estimates now", permissions=["refresh_estimates"])
def refresh_selected(modeladmin, request, queryset):
    pairs = set(queryset.values_list("holder_id", "system_id"))
    result = estimates_refresh_pairs(pairs)
    modeladmin.message_user(
        request, f"Refreshed {result['pairs']} holder × system pair(s).", messages.SUCCESS
    )


class InconsistentFilter(admin.SimpleListFilter):
    title = "consistency"
    parameter_name = "consistency"

    def lookups(self, request, model_admin):
        return [("inconsistent", "Inconsistent"), ("no_baseline", "No baseline")]

    def queryset(self, request, queryset):
        if self.value() == "inconsistent":
            return queryset.filter(inconsistent=True)
        if self.value() == "no_baseline":
            return queryset.filter(has_baseline=False)
        return queryset


@admin.register(StockEstimate)
class StockEstimateAdmin(
    LargeListMixin, DeclaredPermissionsMixin, EstimateRangesMixin, admin.ModelAdmin
):
    list_display = [
        "holder",
        "system",
        "scope_short",
        "on_hand_range",
        "incoming_range",
        "outgoing_range",
        "projected_range",
        "grades",
        "records",
        "consistent",
        "conflict",
    ]
    list_filter = [
        "scope",
        InconsistentFilter,
        ("best_grade", IndexedValuesFilter),
        "holder__kind",
    ]
    list_select_related = ["holder", "system"]
    search_fields = ["holder__name", "holder__code", "system__name", "system__aliases__alias"]
    autocomplete_fields = ["holder", "system"]
    actions = [refresh_selected]
    list_per_page = 100
    # By the ids of the unique (holder, system, scope) index: the model's ordering (holder
    # and system names) sorted all 550,000 estimates at a million records (3 s a page).
    ordering = ["holder_id", "system_id", "scope"]
    fieldsets = [
        (None, {"fields": ["holder", "system", "scope", "computed_at"]}),
        (
            "Estimate (ranges; an empty high bound is unknown)",
            {
                "fields": [
                    "baseline_display",
                    "movements",
                    "on_hand_range",
                    "incoming_range",
                    "outgoing_range",
                    "projected_range",
                    "inconsistent",
                ]
            },
        ),
        ("Evidence", {"fields": ["grades", "record_count", "unsourced_count"]}),
        ("Why this number", {"fields": ["explanation"]}),
        ("History (the estimate at the end of each month)", {"fields": ["series"]}),
    ]
    readonly_fields = [
        "holder",
        "system",
        "scope",
        "computed_at",
        "baseline_display",
        "movements",
        "on_hand_range",
        "incoming_range",
        "outgoing_range",
        "projected_range",
        "inconsistent",
        "grades",
        "record_count",
        "unsourced_count",
        "explanation",
        "series",
    ]

    @admin.display(description="scope", ordering="scope")
    def scope_short(self, obj):
        return "family" if obj.scope == "family" else "system"

    @admin.display(description="ok", boolean=True, ordering="inconsistent")
    def consistent(self, obj):
        """False: more went out than could have been there."""
        return not obj.inconsistent

    @admin.display(description="records", ordering="record_count")
    def records(self, obj):
        return obj.record_count

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="baseline")
    def baseline_display(self, obj):
        base = obj.range("baseline")
        if base is None:
            return "none known (the upper bound of on hand is unknown)"
        return f"{base.display()} as of {obj.baseline_date or 'an unknown date'}"

    @admin.display(description="since the baseline")
    def movements(self, obj):
        return (
            f"received {obj.range('received').display()}, sent {obj.range('sent').display()}, "
            f"expended {obj.range('expended').display()}"
        )

    @admin.display(description="ledger rows, records and citations")
    def explanation(self, obj):
        items = estimate_explanation(
            holder_id=obj.holder_id, system_id=obj.system_id, scope=obj.scope
        )
        if not items:
            return "No ledger rows."
        links = _Links()
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    item["entry"].date_display,
                    item["entry"].get_kind_display(),
                    _range_text(item["entry"]),
                    _record_link(item, links),
                    item["entry"].grade or "unsourced",
                    _citations_html(item["citations"], links),
                    _counted_html(item),
                )
                for item in items
            ),
        )
        return format_html(
            "<table><thead><tr><th>date</th><th>movement</th><th>quantity</th>"
            "<th>record</th><th>grade</th><th>citations</th><th>counted</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="monthly points")
    def series(self, obj):
        points = list(estimate_series(obj.holder_id, obj.system_id, obj.scope))
        if not points:
            return "No points yet."
        since = conflict_since(obj.holder_id, obj.system_id, obj.scope)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{p.as_of:%b %Y}",
                    headline_of(p),
                    p.projected.display(),
                    "CONFLICT" if since is not None and since <= p.as_of else "",
                )
                for p in points[-36:]
            ),
        )
        return format_html(
            "<table><thead><tr><th>month</th><th>on hand</th><th>projected</th>"
            '<th title="a movement counted by then is reported with disagreeing ranges">'
            "conflict</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _range_text(entry) -> str:
    if entry.quantity_high is None:
        shown = f"≥{entry.quantity_low}"
    elif entry.quantity_low == entry.quantity_high:
        shown = str(entry.quantity_low)
    else:
        shown = f"{entry.quantity_low}–{entry.quantity_high}"
    return f"{shown} ({entry.quantity_text})" if entry.quantity_text else shown


class _Links:
    """The links of one explanation, each made once: a record's admin URL from one
    `reverse` per model (a big holder × system has thousands of rows), a source's link once
    however many citations name it."""

    PK = "__pk__"  # admin change URLs take any text as the object id

    def __init__(self) -> None:
        self._urls: dict[str, str] = {}
        self._sources: dict[tuple[str, str], str] = {}

    def change_url(self, meta, pk) -> str:
        name = f"admin:{meta.app_label}_{meta.model_name}_change"
        if name not in self._urls:
            self._urls[name] = reverse(name, args=[self.PK])
        return self._urls[name].replace(self.PK, str(pk))

    def source(self, source) -> str:
        key = (source.url, source.title)
        if key not in self._sources:
            self._sources[key] = web_link(source.url, source.title, rel="noreferrer noopener")
        return self._sources[key]


def _record_link(item, links: _Links | None = None):
    record = item["record"]
    if record is None:
        return item["entry"].origin_label
    url = (links or _Links()).change_url(record._meta, record.pk)
    return format_html('<a href="{}">{}</a>', url, item["entry"].origin_label)


def _counted_html(item):
    """Counted, left out as a duplicate (and why), or a movement with its reports and the
    datasets that set each bound."""
    if not item["counted"]:
        return format_html('<em style="color:#666">left out: {}</em>', item["left_out"])
    bounds = item.get("movement")
    if bounds is None:
        return "counted"
    movement = bounds["movement"]
    reports = format_html_join(
        "<br>",
        "[{}] {}",
        ((r.dataset, _origin_link(r.origin_model, r.origin_id, r.origin_label))
         for r in movement.reports.all()),
    )  # fmt: skip
    return format_html(
        "counted once{}: {} reports; datasets {}; low bound set by {}, high bound by {}<br>{}",
        " (CONFLICT: the range covers disagreeing reports)" if movement.conflict else "",
        movement.report_count,
        ", ".join(f"{name} {total}" for name, total in bounds["datasets"].items()),
        ", ".join(bounds["low_set_by"]) or "–",
        ", ".join(bounds["high_set_by"]) or "–",
        reports,
    )


def _citations_html(citations, links: _Links | None = None):
    if not citations:
        return format_html('<strong style="color:#ba2121">{}</strong>', "UNSOURCED")
    links = links or _Links()
    return format_html_join(
        "<br>",
        "{} {}{}",
        (
            (
                c.grade,
                links.source(c.source),
                format_html(" – “{}”", c.excerpt[:200]) if c.excerpt else "",
            )
            for c in citations
        ),
    )


# -- movements: one real movement, many reports (docs/reconciliation.md) ---------------------

DECIDE_PERMISSION = "stock.change_matchdecision"
register_action_permission("decide", DECIDE_PERMISSION)
# Recompute estimates on demand (editors and administrators: transfers.roles).
register_action_permission("refresh_estimates", "stock.refresh_stockestimate")


class DecideMixin:
    """Admin actions that decide about matches declare the permission they need."""

    def has_decide_permission(self, request):
        return request.user.has_perm(DECIDE_PERMISSION)


class DatasetFilter(admin.SimpleListFilter):
    """Movements with a report from this dataset."""

    title = "dataset"
    parameter_name = "dataset"

    def lookups(self, request, model_admin):
        datasets = (
            MovementReport.objects.exclude(movement=None)
            .order_by("dataset")
            .values_list("dataset", flat=True)
            .distinct()
        )
        return [(name, name) for name in datasets[:100]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(reports__dataset=self.value()).distinct()
        return queryset


class MovementReportInline(admin.TabularInline):
    model = MovementReport
    extra = 0
    can_delete = False
    fields = [
        "dataset",
        "record",
        "quantity",
        "date",
        "date_precision",
        "grade",
        "score",
        "decision",
        "decided_by",
        "decided_at",
        "reason",
    ]
    readonly_fields = fields
    verbose_name_plural = "reports of this movement (their own ledger rows are superseded)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="record")
    def record(self, obj):
        return _origin_link(obj.origin_model, obj.origin_id, obj.origin_label)

    @admin.display(description="quantity")
    def quantity(self, obj):
        return _range_text(obj)


def _origin_link(model: str, pk: int, label: str):
    app, name = model.split(".", 1)
    if app != "transfers":
        return label
    url = reverse(f"admin:transfers_{name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, label)


@admin.action(description="Merge the selected movements into one", permissions=["decide"])
def merge_movements(modeladmin, request, queryset):
    from django.core.exceptions import ValidationError

    try:
        movement_merge(movements=list(queryset), actor=request.user, reason="merged in the admin")
    except ValidationError as exc:
        modeladmin.message_user(request, "; ".join(exc.messages), messages.ERROR)
        return
    modeladmin.message_user(request, "Merged: the movements count once.", messages.SUCCESS)


@admin.register(Movement)
class MovementAdmin(DecideMixin, TrackedAdmin):
    """Movements: each counts once in the estimates, however many reports describe it."""

    list_display = [
        "__str__",
        "kind",
        "quantity_display",
        "conflict",
        "best_grade",
        "dataset_count",
        "report_count",
        "date_earliest",
        "date_latest",
    ]
    list_filter = ["conflict", "kind", DatasetFilter, "holder", "donor"]
    list_select_related = ["donor", "holder", "system"]
    search_fields = ["holder__name", "donor__name", "system__name", "family__name"]
    inlines = [MovementReportInline]
    actions = [merge_movements]
    readonly_fields = [
        "kind",
        "donor",
        "holder",
        "system",
        "family",
        "date_earliest",
        "date_latest",
        "quantity_display",
        "conflict",
        "best_grade",
        "dataset_count",
        "report_count",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="reconciled quantity")
    def quantity_display(self, obj):
        return obj.quantity_display


@admin.register(MovementConflict)
class ConflictAdmin(MovementAdmin):
    """Movements whose datasets disagree (disjoint ranges): counted with the range that
    covers them, flagged until an editor splits them or corrects a report."""

    list_filter = ["kind", DatasetFilter, "holder", "donor", "family"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(conflict=True)

    # A conflict is a movement: its history is the movement's (the proxy has none of its own).
    @model_admin_requires("view")
    def history_view(self, request, object_id, extra_context=None):
        return redirect("admin:stock_movement_history", object_id)

    @model_admin_requires("view")
    def history_form_view(self, request, object_id, version_id, extra_context=None):
        return redirect("admin:stock_movement_simple_history", object_id, version_id)


@admin.action(description="Split the selected reports off their movements", permissions=["decide"])
def split_reports(modeladmin, request, queryset):
    count = 0
    for report in queryset.exclude(movement=None):
        movement_split(report=report, actor=request.user, reason="split in the admin")
        count += 1
    modeladmin.message_user(request, f"Split {count} report(s) off.", messages.SUCCESS)


@admin.register(MovementReport)
class MovementReportAdmin(LargeListMixin, DecideMixin, admin.ModelAdmin):
    """Every report the matching reads, with its dataset and its movement, if any."""

    list_display = [
        "origin_label",
        "dataset",
        "kind",
        "quantity",
        "date",
        "movement",
        "score",
        "decision",
    ]
    list_filter = ["dataset", "kind", "decision"]
    list_select_related = ["movement"]
    search_fields = ["origin_label", "dataset"]
    actions = [split_reports]
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="quantity")
    def quantity(self, obj):
        return _range_text(obj)


@admin.action(description="Confirm: the same movement (count once)", permissions=["decide"])
def confirm_matches(modeladmin, request, queryset):
    for decision in queryset:
        match_confirm(decision=decision, actor=request.user, reason="confirmed in the admin")
    modeladmin.message_user(request, "Confirmed.", messages.SUCCESS)


@admin.action(
    description="Reject: different movements (never proposed again)", permissions=["decide"]
)
def reject_matches(modeladmin, request, queryset):
    for decision in queryset:
        match_reject(decision=decision, actor=request.user, reason="rejected in the admin")
    modeladmin.message_user(request, "Rejected.", messages.SUCCESS)


@admin.register(MatchDecision)
class MatchDecisionAdmin(DecideMixin, TrackedAdmin):
    """The review queue (pending pairs) and the editors' decisions, with who, when, why."""

    list_display = ["label_a", "label_b", "score", "status", "decided_by", "decided_at"]
    list_filter = ["status", "kind", "holder"]
    search_fields = ["label_a", "label_b", "reason"]
    actions = [confirm_matches, reject_matches]
    fields = ["label_a", "label_b", "score", "status", "reason", "decided_by", "decided_at"]
    readonly_fields = ["label_a", "label_b", "score", "decided_by", "decided_at"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        if obj.status in (MatchStatus.CONFIRMED, MatchStatus.REJECTED):
            match_set_status(decision=obj, status=obj.status, actor=request.user, reason=obj.reason)
        else:
            super().save_model(request, obj, form, change)
