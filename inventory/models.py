"""The catalogue: parties (countries and others) and weapon systems, with their aliases.

The stock ledger and the derived estimates live here too (see `inventory.ledger`).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from inventory.choices import (
    AliasKind,
    CountingUnit,
    DatePrecision,
    EstimateScope,
    LedgerKind,
    PartyKind,
    SipriCategory,
    UnrocaCategory,
)
from inventory.history import tracked_history


def normalize_alias(text: str) -> str:
    """The form aliases are matched in: case, accents, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^0-9a-z]+", " ", text.lower())
    return text.strip()


class Country(models.Model):
    """A party that holds, gives or receives weapons: a state or another kind of party.

    States use their ISO 3166-1 alpha-2 code. Other parties use a code of three or more
    letters of our own (NATO, EUN for the EU, SUN for the Soviet Union, XXU for "unknown"), so they can
    never collide with an ISO code.
    """

    code = models.CharField(
        max_length=12,
        unique=True,
        help_text="ISO 3166-1 alpha-2 for states; a code of our own for other parties.",
    )
    iso_alpha3 = models.CharField("ISO alpha-3", max_length=3, blank=True)
    name = models.CharField(max_length=200)
    official_name = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=PartyKind.choices, default=PartyKind.STATE)
    existed_from = models.DateField(
        null=True, blank=True, help_text="The first day the party existed, where it matters."
    )
    existed_until = models.DateField(
        null=True,
        blank=True,
        help_text="The last day the party existed (East Germany: 1990-10-02); empty: it exists.",
    )
    notes = models.TextField(blank=True)

    history = tracked_history()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries and parties"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="country_name_unique_ci",
                violation_error_message=("A party with this name already exists."),
            ),
            models.CheckConstraint(
                condition=~models.Q(code=""),
                name="country_code_not_blank",
                violation_error_message="The code must not be blank.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def existed_on(self, day) -> bool:
        """False when the party had ceased to exist, or did not yet exist, on `day`."""
        if self.existed_until is not None and day > self.existed_until:
            return False
        return not (self.existed_from is not None and day < self.existed_from)

    def clean(self) -> None:
        self.code = (self.code or "").strip().upper()
        if self.existed_from and self.existed_until and self.existed_until < self.existed_from:
            raise ValidationError(
                {
                    "existed_until": f"The end ({self.existed_until}) is before the start "
                    f"({self.existed_from})."
                }
            )
        if self.kind == PartyKind.STATE and not re.fullmatch(r"[A-Z]{2}", self.code):
            raise ValidationError(
                {"code": f"A state's code must be its ISO 3166-1 alpha-2 code, not {self.code!r}."}
            )
        if self.kind != PartyKind.STATE and len(self.code) < 3:
            raise ValidationError(
                {
                    "code": f"A non-state party's code needs three or more letters, not {self.code!r}"
                    " (two letters are reserved for ISO 3166)."
                }
            )


class CountryAlias(models.Model):
    """Another name or code a party goes by ("UAE", "AE", "ARE", "Czech Republic")."""

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200)
    alias_normalized = models.CharField(max_length=200, unique=True, editable=False)

    history = tracked_history()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "country aliases"

    def __str__(self) -> str:
        return self.alias

    def clean(self) -> None:
        self.alias_normalized = normalize_alias(self.alias or "")
        if not self.alias_normalized:
            raise ValidationError({"alias": f"The alias {self.alias!r} has no letters or digits."})

    def validate_unique(self, exclude=None) -> None:
        # alias_normalized is checked below with a message that names the alias.
        super().validate_unique(exclude={*(exclude or ()), "alias_normalized"})
        clash = CountryAlias.objects.filter(alias_normalized=self.alias_normalized).exclude(
            pk=self.pk
        )
        if clash.exists():
            raise ValidationError(
                {"alias": f"The alias {self.alias!r} already names {clash.first().country}."}
            )


class WeaponSystem(models.Model):
    """A weapon system, family or variant: ATACMS is a family, ATACMS Block IA a variant."""

    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
        help_text="The family this system is a variant of.",
    )
    unroca_category = models.CharField(
        "UNROCA category", max_length=4, choices=UnrocaCategory.choices, blank=True
    )
    sipri_category = models.CharField(
        "SIPRI category", max_length=20, choices=SipriCategory.choices, blank=True
    )
    description = models.CharField(max_length=300, blank=True)
    manufacturer = models.CharField(max_length=200, blank=True)
    origin = models.ForeignKey(
        Country,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="systems_originated",
        help_text="Country of origin (designer).",
    )
    range_km = models.DecimalField(
        "range (km)",
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(0, message="Range must not be negative (got %(show_value)s).")
        ],
    )
    counting_unit = models.CharField(
        max_length=20, choices=CountingUnit.choices, default=CountingUnit.SYSTEM
    )
    notes = models.TextField(blank=True)

    history = tracked_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="weaponsystem_name_unique_ci",
                violation_error_message="A weapon system with this name already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(range_km__isnull=True) | models.Q(range_km__gte=0),
                name="weaponsystem_range_non_negative",
                violation_error_message="Range must not be negative.",
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="weaponsystem_not_own_parent",
                violation_error_message="A system cannot be its own family.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name = (self.name or "").strip()
        ancestor = self.parent
        seen = set()
        while ancestor is not None:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError(
                    {"parent": f"{self.parent} is a variant of {self.name}: the tree would loop."}
                )
            if ancestor.pk in seen:
                break
            seen.add(ancestor.pk)
            ancestor = ancestor.parent

    @property
    def family(self) -> WeaponSystem:
        """The root of this system's family tree (itself when it has no parent)."""
        node = self
        while node.parent_id is not None:
            node = node.parent
        return node


class WeaponSystemAlias(models.Model):
    """A designation or other name (MGM-140 for ATACMS, SCALP-EG for Storm Shadow)."""

    system = models.ForeignKey(WeaponSystem, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AliasKind.choices, default=AliasKind.NAME)
    alias_normalized = models.CharField(max_length=200, unique=True, editable=False)

    history = tracked_history()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "weapon system aliases"

    def __str__(self) -> str:
        return self.alias

    def clean(self) -> None:
        self.alias_normalized = normalize_alias(self.alias or "")
        if not self.alias_normalized:
            raise ValidationError({"alias": f"The alias {self.alias!r} has no letters or digits."})

    def validate_unique(self, exclude=None) -> None:
        # alias_normalized is checked below with a message that names the alias.
        super().validate_unique(exclude={*(exclude or ()), "alias_normalized"})
        clash = WeaponSystemAlias.objects.filter(alias_normalized=self.alias_normalized).exclude(
            pk=self.pk
        )
        if clash.exists():
            raise ValidationError(
                {"alias": f"The alias {self.alias!r} already names {clash.first().system}."}
            )


# -- the stock ledger and the estimates derived from it ------------------------------------


class LedgerEntry(models.Model):
    """One immutable movement (or statement) of a holder's stock of a system.

    Posted by `inventory.ledger.ledger_post` in the same transaction as the record it comes
    from (its *origin*, named by model label and id, with a frozen text of what it was). A
    changed or deleted record never edits its rows: they are cancelled (`is_cancelled`) and
    new ones posted, as in ERPNext's Stock Ledger Entry. Estimates read only uncancelled rows.

    `quantity_low`/`quantity_high` are the counted range: an unknown quantity is posted as
    (1, unbounded); `quantity_text` keeps the record's wording.
    """

    holder = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="+")
    system = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    quantity_low = models.PositiveIntegerField()
    quantity_high = models.PositiveIntegerField(null=True, blank=True)
    quantity_text = models.CharField(max_length=200, blank=True)
    date = models.DateField(null=True, blank=True)
    date_precision = models.CharField(
        max_length=10, choices=DatePrecision.choices, default=DatePrecision.DAY
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


class StaleEstimate(models.Model):
    """A holder × system whose estimates must be recomputed (marked in the transaction that
    changed its ledger; cleared by the refresh that recomputed it)."""

    holder_id = models.BigIntegerField()
    system_id = models.BigIntegerField()
    marked_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["holder_id", "system_id"], name="stale_pair_unique")
        ]

    def __str__(self) -> str:
        return f"stale {self.holder_id}×{self.system_id}"


class EstimateValues(models.Model):
    """The ranges of an estimate (see inventory.estimates for their definitions)."""

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
        from inventory.estimates import Range

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
        ordering = ["holder", "system", "scope"]
        verbose_name = "stock estimate"
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "system", "scope"], name="stockestimate_pair_scope_unique"
            )
        ]

    def __str__(self) -> str:
        from inventory.headline import headline_of

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
        ordering = ["holder", "system", "scope", "as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "system", "scope", "as_of"], name="estimatepoint_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.holder} – {self.system} as of {self.as_of}: {self.on_hand}"
