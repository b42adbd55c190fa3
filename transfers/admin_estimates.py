"""Admin for the derived stock estimates: a changelist with filters, and on each estimate
its explanation ("why this number": the ledger rows, the records and their citations) and
its monthly history. Estimates are derived data: nobody edits them by hand."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from inventory.admin import EstimateRangesMixin
from inventory.headline import headline_of
from inventory.models import StockEstimate
from inventory.refresh import estimates_refresh_pairs
from inventory.selectors import estimate_series
from inventory.values import format_date
from transfers.selectors import estimate_explanation


@admin.action(description="Refresh the selected estimates now")
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
class StockEstimateAdmin(EstimateRangesMixin, admin.ModelAdmin):
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
    ]
    list_filter = ["scope", InconsistentFilter, "best_grade", "holder__kind"]
    list_select_related = ["holder", "system"]
    search_fields = ["holder__name", "holder__code", "system__name", "system__aliases__alias"]
    autocomplete_fields = ["holder", "system"]
    actions = [refresh_selected]
    list_per_page = 100
    show_full_result_count = False
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
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    format_date(item["entry"].date, item["entry"].date_precision),
                    item["entry"].get_kind_display(),
                    _range_text(item["entry"]),
                    _record_link(item),
                    item["entry"].grade or "unsourced",
                    _citations_html(item["citations"]),
                )
                for item in items
            ),
        )
        return format_html(
            "<table><thead><tr><th>date</th><th>movement</th><th>quantity</th>"
            "<th>record</th><th>grade</th><th>citations</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="monthly points")
    def series(self, obj):
        points = list(estimate_series(obj.holder_id, obj.system_id, obj.scope))
        if not points:
            return "No points yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f"{p.as_of:%b %Y}", headline_of(p), p.projected.display()) for p in points[-36:]),
        )
        return format_html(
            "<table><thead><tr><th>month</th><th>on hand</th><th>projected</th></tr>"
            "</thead><tbody>{}</tbody></table>",
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


def _record_link(item):
    record = item["record"]
    if record is None:
        return item["entry"].origin_label
    url = reverse(f"admin:transfers_{record._meta.model_name}_change", args=[record.pk])
    return format_html('<a href="{}">{}</a>', url, item["entry"].origin_label)


def _citations_html(citations):
    if not citations:
        return format_html('<strong style="color:#ba2121">{}</strong>', "UNSOURCED")
    return format_html_join(
        "<br>",
        '{} <a href="{}">{}</a>{}',
        (
            (
                c.grade,
                c.source.url or "#",
                c.source.title,
                format_html(" – “{}”", c.excerpt[:200]) if c.excerpt else "",
            )
            for c in citations
        ),
    )
