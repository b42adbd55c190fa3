"""Admin of the report subscriptions and their deliveries (imported by transfers.admin).

A subscription's page links to a preview of its next report (the HTML as it will be
mailed, charts included); the list has actions to send due reports now and to mail the
confirmation link again. Deliveries are read-only; an operator may release one left
"sending" (its worker died) or "skipped" so that the next run sends it.

Sending and releasing need `reports.send_report` (administrators); mailing the
confirmation again needs change permission and waits `CONFIRMATION_RESEND_AFTER` between
two mails to one address. Users who may not change subscriptions (viewers) see addresses
masked (`a***@example.org`) and cannot search by them. The preview carries no working
unsubscribe link.
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin_access import (
    DeclaredPermissionsMixin,
    mask_email,
    model_admin_requires,
    register_action_permission,
)
from reports.models import ReportDelivery, Subscription
from reports.periods import period_display
from reports.services import (
    consent_refusal,
    delivery_release,
    next_report,
    report_deliver,
    subscription_save,
    subscription_send_confirmation,
)

# Send due reports now, release a delivery to be sent again: administrators only.
register_action_permission("send_report", "reports.send_report")


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


def can_see_addresses(request) -> bool:
    return request.user.has_perm("reports.change_subscription")


@admin.register(Subscription)
class SubscriptionAdmin(DeclaredPermissionsMixin, admin.ModelAdmin):
    list_display = [
        "recipient_full",
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

    def get_search_fields(self, request):
        # Searching by address would reveal the addresses a viewer must not see.
        return self.search_fields if can_see_addresses(request) else []

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if can_see_addresses(request):
            return fieldsets
        first_name, first = fieldsets[0]
        fields = ["recipient_masked", *first["fields"][1:]]
        return [(first_name, {**first, "fields": fields}), *fieldsets[1:]]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if can_see_addresses(request) else [*fields, "recipient_masked"]

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if can_see_addresses(request):
            return shown
        return [("recipient_masked" if f == "recipient_full" else f) for f in shown]

    @admin.display(description="recipient", ordering="email")
    def recipient_full(self, obj) -> str:
        return obj.recipient or "(no address)"

    @admin.display(description="recipient")
    def recipient_masked(self, obj) -> str:
        return mask_email(obj.recipient) or "(no address)"

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
        url = reverse("admin:reports_subscription_preview", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank">Preview {}</a>', url, period_display(next_period(obj))
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="reports_subscription_preview",
            ),
            *super().get_urls(),
        ]

    @model_admin_requires("view")
    def preview_view(self, request, pk: int):
        from reports.rendering import report_preview_html
        from reports.selectors import report_build

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

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        actor = request.user

        class ConsentForm(form_class):
            def clean(self):
                cleaned = super().clean()
                refusal = consent_refusal(cleaned.get("user"), actor)
                if refusal:
                    self.add_error("user", refusal)
                return cleaned

        return ConsentForm

    def save_model(self, request, obj, form, change):
        subscription_save(subscription=obj, actor=request.user)

    @admin.action(description="Send due reports now", permissions=["send_report"])
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

    @admin.action(description="Mail the confirmation link again", permissions=["change"])
    def send_confirmation(self, request, queryset):
        count = sum(
            subscription_send_confirmation(subscription_id=s.pk, again=True) for s in queryset
        )
        self.message_user(
            request,
            f"{count} confirmation link(s) sent. Confirmed subscriptions and addresses mailed "
            "in the last hour are left out.",
        )


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(DeclaredPermissionsMixin, admin.ModelAdmin):
    list_display = [
        "recipient_full",
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
    fields = [
        "subscription",
        "recipient_full",
        "cadence",
        ("period_start", "period_end"),
        "status",
        "attempts",
        "error",
        "message_id",
        "item_count",
        ("sent_at", "created_at", "updated_at"),
    ]
    readonly_fields = [
        "subscription",
        "recipient_full",
        "recipient_masked",
        "cadence",
        "period_start",
        "period_end",
        "status",
        "attempts",
        "error",
        "message_id",
        "item_count",
        "sent_at",
        "created_at",
        "updated_at",
    ]

    def get_search_fields(self, request):
        if can_see_addresses(request):
            return self.search_fields
        return ["message_id", "error"]

    @admin.display(description="recipient", ordering="recipient")
    def recipient_full(self, obj) -> str:
        return obj.recipient

    @admin.display(description="recipient")
    def recipient_masked(self, obj) -> str:
        return mask_email(obj.recipient)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if can_see_addresses(request):
            return shown
        return [("recipient_masked" if f == "recipient_full" else f) for f in shown]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if can_see_addresses(request):
            return fields
        return [("recipient_masked" if f == "recipient_full" else f) for f in fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(
        description="Send again on the next run (after checking the mail log)",
        permissions=["send_report"],
    )
    def release(self, request, queryset):
        count = sum(delivery_release(delivery=d) for d in queryset)
        self.message_user(request, f"{count} delivery(ies) released; the next run sends them.")
