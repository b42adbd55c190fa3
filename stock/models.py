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
from core.history import tracked_history
from inventory.models import Country, WeaponSystem
from stock.choices import EstimateScope, LedgerKind, MatchStatus, MovementKind


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
    is_superseded = models.BooleanField(
        default=False,
        db_default=False,
        help_text="A report merged into a movement: the movement's own rows count instead "
        "(stock.movements). Superseded rows stay for the explanation; estimates skip them.",
    )
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
            # the baselines of some holders (estimates as of a date or as known at a
            # moment read them apart from the other rows: stock.refresh)
            models.Index(
                fields=["holder", "system"],
                condition=models.Q(kind="baseline"),
                name="ledger_baseline_idx",
            ),
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


# The ledger rows an estimate counts: not cancelled, and not a report superseded by the
# movement it was merged into. One definition, in ORM and SQL form.
COUNTED = models.Q(is_cancelled=False, is_superseded=False)
COUNTED_SQL = "is_cancelled = false AND is_superseded = false"


class LedgerSupersession(models.Model):
    """When a ledger row was superseded: from `superseded_at` (its report joined a movement,
    or a newer edition of its register came) until `restored_at` (it left the movement;
    empty: still superseded). Written by the matching in the same statement batch that
    flips `LedgerEntry.is_superseded`, so supersession has a transaction time like posting
    and cancelling (docs/estimates.md "As known at", rule 3). A row superseded, restored and
    superseded again has two intervals."""

    entry = models.ForeignKey(
        LedgerEntry, on_delete=models.CASCADE, related_name="supersessions", db_index=False
    )
    superseded_at = models.DateTimeField()
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["entry", "superseded_at"], name="supersession_entry_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(restored_at__isnull=True)
                | models.Q(restored_at__gte=models.F("superseded_at")),
                name="supersession_restored_after_superseded",
                violation_error_message="A row is restored after it was superseded.",
            ),
        ]

    def __str__(self) -> str:
        until = f" until {self.restored_at:%Y-%m-%d %H:%M:%S}" if self.restored_at else ""
        return f"row {self.entry_id} superseded {self.superseded_at:%Y-%m-%d %H:%M:%S}{until}"


def superseded_known_at(moment) -> models.Exists:
    """The row (the outer `LedgerEntry`) was superseded at `moment`."""
    return models.Exists(
        LedgerSupersession.objects.filter(
            models.Q(restored_at__isnull=True) | models.Q(restored_at__gt=moment),
            entry=models.OuterRef("pk"),
            superseded_at__lte=moment,
        )
    )


def counted_known_at(moment) -> models.Q:
    """The rows an estimate counted as the database knew them at `moment` (transaction time,
    docs/estimates.md "As known at"): posted by then, not yet cancelled then, and not
    superseded then (a report merged into a movement only from when it was merged)."""
    return (
        models.Q(posted_at__lte=moment)
        & (models.Q(cancelled_at__isnull=True) | models.Q(cancelled_at__gt=moment))
        & ~models.Q(superseded_known_at(moment))
    )


# The same in SQL, on the ledger table unaliased (as `stock.refresh` reads it).
COUNTED_KNOWN_AT_SQL = (
    "posted_at <= %(known_at)s AND (cancelled_at IS NULL OR cancelled_at > %(known_at)s) "
    f"AND NOT EXISTS (SELECT 1 FROM {LedgerSupersession._meta.db_table} sup "
    f"WHERE sup.entry_id = {LedgerEntry._meta.db_table}.id "
    "AND sup.superseded_at <= %(known_at)s "
    "AND (sup.restored_at IS NULL OR sup.restored_at > %(known_at)s))"
)


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
    conflict = models.BooleanField(
        default=False,
        db_default=False,
        help_text="A movement counted here is reported with ranges that disagree "
        "(stock.movements): the estimate uses the range that covers the reports.",
    )

    class Meta:
        db_table = "inventory_stockestimate"
        ordering = ["holder", "system", "scope"]
        verbose_name = "stock estimate"
        permissions = [("refresh_stockestimate", "Can refresh stock estimates on demand")]
        # the admin's filter by best grade reads its values from this index
        indexes = [models.Index(fields=["best_grade"], name="stockestimate_best_grade_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "system", "scope"], name="stockestimate_pair_scope_unique"
            )
        ]

    def __str__(self) -> str:
        from stock.headline import headline_of

        family = " (family)" if self.scope == EstimateScope.FAMILY else ""
        return f"{self.holder} – {self.system}{family}: {headline_of(self)}"


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


# -- movements: one real movement, many reports (docs/reconciliation.md) --------------------


class Movement(models.Model):
    """One real movement that several reports (ledger origins from different datasets or
    sources) describe. Its reports' ledger rows are superseded; the movement posts its own
    reconciled rows (origin "stock.movement"), so the estimates count it once.

    `quantity_low`/`quantity_high` is the reconciled range: what the datasets agree on, or,
    when their ranges are disjoint (`conflict`), the range that covers them all."""

    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    donor = models.ForeignKey(
        Country, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    holder = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The recipient of a transfer or pledge; the holder otherwise.",
    )
    system = models.ForeignKey(
        WeaponSystem,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The most specific system all its reports agree on (its rows post here).",
    )
    family = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    date_earliest = models.DateField(null=True, blank=True)
    date_latest = models.DateField(null=True, blank=True)
    quantity_low = models.PositiveIntegerField()
    quantity_high = models.PositiveIntegerField(null=True, blank=True)
    best_grade = models.CharField(max_length=2, blank=True)
    conflict = models.BooleanField(
        default=False, help_text="The datasets' ranges are disjoint: counted with the cover."
    )
    dataset_count = models.PositiveIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()

    class Meta:
        ordering = ["holder", "system", "id"]
        indexes = [
            models.Index(fields=["kind", "holder", "family"], name="movement_block_idx"),
            models.Index(fields=["conflict"], name="movement_conflict_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity_high__isnull=True)
                | models.Q(quantity_low__lte=models.F("quantity_high")),
                name="movement_quantity_low_lte_high",
                violation_error_message="The low quantity must not exceed the high quantity.",
            ),
        ]

    def __str__(self) -> str:
        donor = f"{self.donor} → " if self.donor_id else ""
        flag = " (conflict)" if self.conflict else ""
        return f"{donor}{self.holder}: {self.system} ({self.quantity_display}){flag}"

    @property
    def quantity_display(self) -> str:
        from stock.estimates import Range

        return Range(self.quantity_low, self.quantity_high).display()


class MovementConflict(Movement):
    """The movements in conflict (the admin's conflicts list)."""

    class Meta:
        proxy = True
        verbose_name = "conflict"
        verbose_name_plural = "conflicts (movements whose reports disagree)"


class MovementReport(models.Model):
    """A ledger origin (one record: a report of what one dataset or source states), as the
    matching reads it, and its link to at most one movement: with the match score, how it
    was decided, by whom, when and why.

    Derived from the ledger rows of the origin (`stock.matching.reports_sync`); the dataset
    comes from the origin's owner (`stock.ledger.origin_datasets`): rows of one dataset add
    up, reports from different datasets of one flow must not."""

    origin_model = models.CharField(max_length=60)
    origin_id = models.PositiveBigIntegerField()
    origin_label = models.CharField(max_length=300)
    dataset = models.CharField(
        max_length=100, help_text='"sipri", "oryx-supplied", "kiel", "source:12", …'
    )
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    donor = models.ForeignKey(
        Country, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    holder = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="+")
    system = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    family = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    quantity_low = models.PositiveIntegerField()
    quantity_high = models.PositiveIntegerField(null=True, blank=True)
    quantity_text = models.CharField(max_length=200, blank=True)
    date = models.DateField(null=True, blank=True)
    date_precision = models.CharField(
        max_length=12, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    window_start = models.DateField(
        null=True, blank=True, help_text="The date widened by its precision; empty: any date."
    )
    window_end = models.DateField(null=True, blank=True)
    via_contract = models.BooleanField(default=False)
    grade = models.CharField(max_length=2, blank=True)
    movement = models.ForeignKey(
        Movement, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    score = models.FloatField(null=True, blank=True, help_text="The best match score (0–1).")
    decision = models.CharField(max_length=10, choices=MatchStatus.choices, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["origin_model", "origin_id"]
        verbose_name = "movement report"
        indexes = [
            models.Index(fields=["kind", "holder", "family", "dataset"], name="report_block_idx"),
            models.Index(fields=["holder", "system"], name="report_pair_idx"),
            models.Index(fields=["donor", "system"], name="report_donor_pair_idx"),
            models.Index(fields=["dataset"], name="report_dataset_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["origin_model", "origin_id"], name="movementreport_origin_unique"
            )
        ]

    def __str__(self) -> str:
        return f"[{self.dataset}] {self.origin_label}"

    @property
    def flow_key(self) -> str:
        from stock.matching import flow_key

        return flow_key(self.dataset, self.kind, self.donor_id, self.holder_id, self.system_id)


class MatchDecision(models.Model):
    """A pair of dataset flows (one dataset's reports of one kind, parties and system) that
    may be one movement: waiting for review, or decided by an editor. A rejected pair is
    never proposed again; a confirmed one is merged whatever its score."""

    flow_a = models.CharField(max_length=200)
    flow_b = models.CharField(max_length=200)
    label_a = models.CharField(max_length=300, blank=True)
    label_b = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    donor = models.ForeignKey(
        Country, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    holder = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="+")
    family = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=MatchStatus.choices, default=MatchStatus.PENDING
    )
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = tracked_history()

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = "match to review"
        verbose_name_plural = "matches to review"
        indexes = [models.Index(fields=["status", "kind", "holder"], name="match_status_idx")]
        constraints = [
            models.UniqueConstraint(fields=["flow_a", "flow_b"], name="matchdecision_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(flow_a__lt=models.F("flow_b")),
                name="matchdecision_pair_ordered",
                violation_error_message="A pair is stored in order (flow_a < flow_b).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label_a} ~ {self.label_b} ({self.get_status_display()})"
