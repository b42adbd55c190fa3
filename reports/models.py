"""Report subscriptions and their deliveries (imported by `transfers.models`, whose app they
belong to). Writes go through `reports.services`."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from inventory.choices import Credibility, Reliability
from inventory.models import Country, WeaponSystem
from reports.choices import Cadence, DeliveryStatus


class Subscription(models.Model):
    """Who gets which report how often: a user (their account's address) or a bare email
    address confirmed by a signed link."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_subscriptions",
        help_text="A user gets the report at their account's email address.",
    )
    email = models.EmailField(
        blank=True,
        help_text="Or an address without an account; it gets a confirmation link first.",
    )
    confirmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the subscriber agreed: a user subscribing themselves at once, an "
        "address or an invited user by the mailed link.",
    )
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.WEEKLY)
    countries = models.ManyToManyField(
        Country,
        blank=True,
        related_name="+",
        help_text="Only records involving one of these parties (any role). Empty: all.",
    )
    systems = models.ManyToManyField(
        WeaponSystem,
        blank=True,
        related_name="+",
        help_text="Only these systems; a family includes all its variants. Empty: all.",
    )
    min_reliability = models.CharField(
        "minimum source reliability",
        max_length=1,
        choices=Reliability.choices,
        default=Reliability.F,
        help_text="Only records with a citation graded this reliable or better. F: any.",
    )
    min_credibility = models.PositiveSmallIntegerField(
        "minimum credibility",
        choices=Credibility.choices,
        default=Credibility.UNJUDGED,
        help_text="Only records with a citation graded this credible or better. 6: any.",
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Untick to pause; unsubscribing unticks it."
    )
    send_when_empty = models.BooleanField(
        "send even when empty",
        default=False,
        help_text="Send a report for a period with nothing to report (otherwise skipped).",
    )
    starts_on = models.DateField(
        help_text="The first period reported is the one containing this day."
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last confirmation link was mailed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "transfers_subscription"
        ordering = ["id"]
        verbose_name = "report subscription"
        permissions = [("send_report", "Can send reports now and release deliveries")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(email=""))
                | (models.Q(user__isnull=True) & ~models.Q(email="")),
                name="subscription_user_xor_email",
                violation_error_message="A subscription is for a user or for an email address.",
            ),
            models.CheckConstraint(
                condition=models.Q(min_credibility__gte=1, min_credibility__lte=6),
                name="subscription_min_credibility_1_to_6",
                violation_error_message="Credibility must be between 1 and 6.",
            ),
        ]

    def __str__(self) -> str:
        # Masked: the name shows in breadcrumbs, messages and logs that viewers see too.
        from core.admin_access import mask_email

        shown = mask_email(self.recipient) or "(no address)"
        return f"{shown} – {self.get_cadence_display().lower()}"

    @property
    def recipient(self) -> str:
        if self.user_id is not None:
            return self.user.email
        return self.email

    @property
    def is_confirmed(self) -> bool:
        # Users who subscribe themselves are confirmed at once; an address, or a user
        # invited by an administrator, confirms by the mailed link.
        return self.confirmed_at is not None

    @property
    def has_grade_filter(self) -> bool:
        return self.min_reliability != Reliability.F or self.min_credibility != Credibility.UNJUDGED

    @property
    def min_grade(self) -> str:
        return f"{self.min_reliability}{self.min_credibility}"

    def clean(self) -> None:
        self.email = (self.email or "").strip().lower()
        if self.user_id is None and not self.email:
            raise ValidationError({"email": "Pick a user or enter an email address."})
        if self.user_id is not None and self.email:
            raise ValidationError(
                {"email": f"Pick a user or enter an address ({self.email}), not both."}
            )
        if self.user_id is not None and not self.user.email:
            raise ValidationError({"user": f"The user {self.user} has no email address."})


class ReportDelivery(models.Model):
    """One subscriber's report for one period: sent, skipped (empty), failed or in flight.
    Kept when the subscription is deleted (the recipient is frozen as text)."""

    subscription = models.ForeignKey(
        Subscription, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    recipient = models.CharField(max_length=254)
    cadence = models.CharField(max_length=10, choices=Cadence.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive: the first day after the period.")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    claim = models.CharField(max_length=32, blank=True, help_text="Token of the claiming run.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "transfers_reportdelivery"
        ordering = ["-period_start", "-id"]
        verbose_name = "report delivery"
        verbose_name_plural = "report deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                name="reportdelivery_one_per_period",
                violation_error_message="This period already has a delivery.",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")),
                name="reportdelivery_period_not_empty",
                violation_error_message="A period ends after it starts.",
            ),
        ]

    def __str__(self) -> str:
        from core.admin_access import mask_email

        return f"{mask_email(self.recipient)} {self.period_start}–{self.period_end}: {self.status}"
