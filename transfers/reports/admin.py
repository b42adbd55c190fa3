"""Admin of the report subscriptions and their deliveries (imported by transfers.admin).

A subscription's page links to a preview of its next report (the HTML as it will be
mailed, charts included); the list has actions to send due reports now and to mail the
confirmation link again. Deliveries are read-only; an operator may release one left
"sending" (its worker died) or "skipped" so that the next run sends it.
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from transfers.reports.models import ReportDelivery, Subscription
from transfers.reports.periods import period_display
from transfers.reports.services import (
    delivery_release,
    next_report,
    report_deliver,
    subscription_save,
    subscription_send_confirmation,
)


def next_period(subscription: Subscription):
    """The period of the subscriber's next report: the oldest due one, else the one under
    way (its report so far)."""
    return next_report(subscription).period


class ReportDeliveryInline(admin.TabularInline):
    model = ReportDelivery
    extra = 0
    can_delete = False
    fields = ["period_start", "period_end", "status", "attempts", "sent_at", "message_id", "error"]
    readonly_fields = fields
    ordering = ["-period_start"]
    max_num = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "cadence",
        "is_active",
        "confirmed",
        "grade",
        "send_when_empty",
        "last_sent",
        "preview_link",
    ]
    list_filter = ["cadence", "is_active", "send_when_empty"]
    search_fields = ["email", "user__username", "user__email"]
    autocomplete_fields = ["user", "countries", "systems"]
    readonly_fields = [
        "confirmed_at",
        "unsubscribed_at",
        "created_at",
        "updated_at",
        "preview_link",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("user", "email"),
                    "cadence",
                    ("is_active", "send_when_empty"),
                    "starts_on",
                ]
            },
        ),
        (
            "Filters",
            {
                "fields": ["countries", "systems", ("min_reliability", "min_credibility")],
                "description": "Empty lists mean everything. A system that is a family "
                "includes all its variants.",
            },
        ),
        (
            "State",
            {
                "fields": [
                    "preview_link",
                    "confirmed_at",
                    "unsubscribed_at",
                    ("created_at", "updated_at"),
                ]
            },
        ),
    ]
    inlines = [ReportDeliveryInline]
    actions = ["send_now", "send_confirmation"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def get_changeform_initial_data(self, request):
        return {"starts_on": timezone.localdate(), **super().get_changeform_initial_data(request)}

    @admin.display(boolean=True, description="confirmed")
    def confirmed(self, obj) -> bool:
        return obj.is_confirmed

    @admin.display(description="minimum grade")
    def grade(self, obj) -> str:
        return obj.min_grade if obj.has_grade_filter else "any"

    @admin.display(description="last sent")
    def last_sent(self, obj):
        delivery = obj.deliveries.filter(status="sent").order_by("-period_start").first()
        return delivery.sent_at if delivery else "—"

    @admin.display(description="next report")
    def preview_link(self, obj) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:transfers_subscription_preview", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank">Preview {}</a>', url, period_display(next_period(obj))
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="transfers_subscription_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        from transfers.reports.rendering import report_preview_html
        from transfers.reports.selectors import report_build

        subscription = get_object_or_404(Subscription, pk=pk)
        if not self.has_view_permission(request, subscription):
            return HttpResponse(status=403)
        upcoming = next_report(subscription)
        report = report_build(subscription=subscription, period=upcoming.period)
        state = (
            "its period has ended; the next run sends it"
            if upcoming.due
            else "the period so far (it is under way)"
        )
        banner = format_html(
            '<p style="font:14px sans-serif;background:#fff8c4;padding:8px;margin:0">'
            "Preview of the report of {} to {}: {}. {} item(s). It will be sent {}.</p>",
            period_display(upcoming.period),
            subscription.recipient or "(no address)",
            state,
            report.item_count,
            f"{upcoming.sends_at:%Y-%m-%d %H:%M} ({upcoming.sends_at.tzname()})",
        )
        html = report_preview_html(report)
        html, found = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + banner, html, count=1)
        if not found:
            html = banner + html
        response = HttpResponse(html)
        # The preview shows record text: no scripts, whatever a record holds.
        response["Content-Security-Policy"] = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        )
        return response

    def save_model(self, request, obj, form, change):
        subscription_save(subscription=obj, actor=request.user)

    @admin.action(description="Send due reports now")
    def send_now(self, request, queryset):
        sent = skipped = 0
        for subscription in queryset:
            try:
                outcomes = report_deliver(subscription_id=subscription.pk)
            except OSError as exc:
                self.message_user(
                    request,
                    f"{subscription}: sending failed ({exc}); recorded, the next run retries.",
                    messages.ERROR,
                )
                continue
            sent += sum(1 for o in outcomes if o.status == "sent")
            skipped += sum(1 for o in outcomes if o.status == "skipped")
        self.message_user(
            request,
            f"{sent} report(s) sent, {skipped} empty period(s) skipped. Subscriptions without an "
            "ended period have nothing due yet: use the preview.",
        )

    @admin.action(description="Mail the confirmation link again")
    def send_confirmation(self, request, queryset):
        count = sum(subscription_send_confirmation(subscription_id=s.pk) for s in queryset)
        self.message_user(request, f"{count} confirmation link(s) sent.")


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "recipient",
        "cadence",
        "period_start",
        "period_end",
        "status",
        "attempts",
        "sent_at",
        "message_id",
    ]
    list_filter = ["status", "cadence"]
    search_fields = ["recipient", "message_id", "error"]
    date_hierarchy = "period_start"
    actions = ["release"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Send again on the next run (after checking the mail log)")
    def release(self, request, queryset):
        count = sum(delivery_release(delivery=d) for d in queryset)
        self.message_user(request, f"{count} delivery(ies) released; the next run sends them.")
