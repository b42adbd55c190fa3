"""The stock ledger and the estimates derived from it.

The ledger is the seam between the sourced records (`transfers`) and the numbers: each record
that moves stock posts immutable rows here (`stock.ledger.ledger_post`), naming its origin;
estimates and their monthly series are computed from the ledger alone.

The tables keep the names they had when these models lived in `inventory` (`db_table`), so
moving them between apps moved no data.
"""

from __future__ import annotations

from django.db import models

from core.choices import DatePrecision
from inventory.models import Country, WeaponSystem
from stock.choices import EstimateScope, LedgerKind


class LedgerEntry(models.Model):
    """One immutable movement (or statement) of a holder's stock of a system.

    Posted by `stock.ledger.ledger_post` in the same transaction as the record it comes
    from (its *origin*, named by model label and id, with a frozen text of what it was). A
    changed or deleted record never edits its rows: they are cancelled (`is_cancelled`) and
    new ones posted, as in ERPNext's Stock Ledger Entry. Estimates read only uncancelled rows.

    `quantity_low`/`quantity_high` are the counted range: an unknown quantity is posted as
    (1, unbounded); `quantity_text` keeps the record's wording. `date_earliest`..`date_latest`
    is the interval of days the movement may have happened on (`core.values.date_interval`
    of the record's date); `date` and `date_precision` keep the record's own.
    """

    holder = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="+")
    system = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    quantity_low = models.PositiveIntegerField()
    quantity_high = models.PositiveIntegerField(null=True, blank=True)
    quantity_text = models.CharField(max_length=200, blank=True)
    date = models.DateField(null=True, blank=True)
    date_precision = models.CharField(
        max_length=12, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    date_earliest = models.DateField(
        null=True, blank=True, help_text="First possible day; empty: the beginning of time."
    )
    date_latest = models.DateField(
        null=True, blank=True, help_text="Last possible day; empty: no later than reported."
    )
    via_contract = models.BooleanField(
        default=False, help_text="A delivery received under a contract (reduces open orders)."
    )
    origin_model = models.CharField(max_length=60, help_text='e.g. "transfers.transfer"')
    origin_id = models.PositiveBigIntegerField()
    origin_label = models.CharField(max_length=300, help_text="The origin record as it was.")
    grade = models.CharField(
        max_length=2,
        blank=True,
        help_text="Best Admiralty grade of the origin's citations (B2); empty: unsourced.",
    )
    is_cancelled = models.BooleanField(default=False)
    posted_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "inventory_ledgerentry"
        verbose_name = "stock ledger entry"
        verbose_name_plural = "stock ledger entries"
        ordering = ["holder", "system", "date", "id"]
        indexes = [
            models.Index(
                fields=["holder", "system", "is_cancelled", "date"], name="ledger_pair_idx"
            ),
            models.Index(fields=["origin_model", "origin_id"], name="ledger_origin_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity_high__isnull=True)
                | models.Q(quantity_low__lte=models.F("quantity_high")),
                name="ledgerentry_quantity_low_lte_high",
                violation_error_message="The low quantity must not exceed the high quantity.",
            ),
            models.CheckConstraint(
                condition=models.Q(grade="") | models.Q(grade__regex=r"^[A-F][1-6]$"),
                name="ledgerentry_grade_admiralty",
                violation_error_message="A grade is a letter A-F and a digit 1-6 (B2).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.origin_label}"

    @property
    def date_display(self) -> str:
        """The record's date as a person reads it ("on or before 2023-05-05", "Jun 2023")."""
        from core.values import format_date

        return format_date(self.date, self.date_precision, self.date_latest)


class StaleEstimate(models.Model):
    """A holder × system whose estimates must be recomputed (marked in the transaction that
    changed its ledger; cleared by the refresh that recomputed it)."""

    holder_id = models.BigIntegerField()
    system_id = models.BigIntegerField()
    marked_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "inventory_staleestimate"
        constraints = [
            models.UniqueConstraint(fields=["holder_id", "system_id"], name="stale_pair_unique")
        ]

    def __str__(self) -> str:
        return f"stale {self.holder_id}×{self.system_id}"


class EstimateValues(models.Model):
    """The ranges of an estimate (see stock.estimates for their definitions)."""

    baseline_low = models.PositiveIntegerField(null=True, blank=True)
    baseline_high = models.PositiveIntegerField(null=True, blank=True)
    baseline_date = models.DateField(null=True, blank=True)
    has_baseline = models.BooleanField(default=False)
    received_low = models.PositiveIntegerField(default=0)
    received_high = models.PositiveIntegerField(null=True, blank=True)
    sent_low = models.PositiveIntegerField(default=0)
    sent_high = models.PositiveIntegerField(null=True, blank=True)
    expended_low = models.PositiveIntegerField(default=0)
    expended_high = models.PositiveIntegerField(null=True, blank=True)
    on_hand_low = models.PositiveIntegerField(default=0)
    on_hand_high = models.PositiveIntegerField(null=True, blank=True)
    incoming_low = models.PositiveIntegerField(default=0)
    incoming_high = models.PositiveIntegerField(null=True, blank=True)
    outgoing_low = models.PositiveIntegerField(default=0)
    outgoing_high = models.PositiveIntegerField(null=True, blank=True)
    projected_low = models.PositiveIntegerField(default=0)
    projected_high = models.PositiveIntegerField(null=True, blank=True)
    inconsistent = models.BooleanField(
        default=False, help_text="More units went out than could have been there."
    )
    best_grade = models.CharField(max_length=2, blank=True)
    weakest_grade = models.CharField(max_length=2, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    unsourced_count = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def range(self, name: str):
        from stock.estimates import Range

        if name == "baseline" and not self.has_baseline:
            return None
        return Range(getattr(self, f"{name}_low") or 0, getattr(self, f"{name}_high"))

    @property
    def on_hand(self):
        return self.range("on_hand")

    @property
    def projected(self):
        return self.range("projected")

    @property
    def incoming(self):
        return self.range("incoming")

    @property
    def outgoing(self):
        return self.range("outgoing")


class StockEstimate(EstimateValues):
    """The current estimate of a holder's stock of a system (scope "system") or of a whole
    family (scope "family": the system and all its variants). Derived data: rebuilt from the
    ledger at any time with the same numbers."""

    holder = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="estimates")
    system = models.ForeignKey(WeaponSystem, on_delete=models.CASCADE, related_name="estimates")
    scope = models.CharField(
        max_length=10, choices=EstimateScope.choices, default=EstimateScope.SYSTEM
    )
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "inventory_stockestimate"
        ordering = ["holder", "system", "scope"]
        verbose_name = "stock estimate"
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "system", "scope"], name="stockestimate_pair_scope_unique"
            )
        ]

    def __str__(self) -> str:
        family = " (family)" if self.scope == EstimateScope.FAMILY else ""
        return f"{self.holder} – {self.system}{family}: {self.on_hand}"


class EstimatePoint(EstimateValues):
    """The estimate as of the last day of a month: the stored series for charts and reports."""

    holder = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="+")
    system = models.ForeignKey(WeaponSystem, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(
        max_length=10, choices=EstimateScope.choices, default=EstimateScope.SYSTEM
    )
    as_of = models.DateField()

    class Meta:
        db_table = "inventory_estimatepoint"
        ordering = ["holder", "system", "scope", "as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "system", "scope", "as_of"], name="estimatepoint_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.holder} – {self.system} as of {self.as_of}: {self.on_hand}"
