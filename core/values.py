"""Value types shared by the records and the ledger: quantity ranges and dates with precision.

Both are abstract models so that each concrete table carries its own named constraints.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from core.choices import DatePrecision
from core.quantities import QuantityParseError, QuantityRange, format_range, parse_quantity

NON_NEGATIVE = MinValueValidator(0, message="A quantity must not be negative (got %(show_value)s).")


class QuantityFields(models.Model):
    """quantity_low..quantity_high, with the original wording.

    Both bounds empty: unknown. High empty with a low bound: unbounded ("at least 20").
    On clean(), `parse_quantity` fills the bounds from `quantity_text` when only the text is
    given, or when the text was changed and the bounds were not.
    """

    quantity_low = models.IntegerField(
        null=True,
        blank=True,
        validators=[NON_NEGATIVE],
        help_text="Lowest plausible number. Empty with an empty high bound: unknown.",
    )
    quantity_high = models.IntegerField(
        null=True,
        blank=True,
        validators=[NON_NEGATIVE],
        help_text="Highest plausible number. Empty: no upper bound.",
    )
    quantity_text = models.CharField(
        max_length=200,
        blank=True,
        help_text='The original wording ("dozens", "at least 20", "100?"). '
        "Filled in from the bounds when left empty; parsed into the bounds when they are.",
    )

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        loaded = instance.__dict__
        if {"quantity_low", "quantity_high", "quantity_text"} <= loaded.keys():
            instance._loaded_quantity = (
                loaded["quantity_low"],
                loaded["quantity_high"],
                loaded["quantity_text"],
            )
        return instance

    def remember_saved_state(self) -> None:
        """After a save: a later change of the wording alone re-parses the bounds, as it
        does on an instance loaded from the database."""
        self._loaded_quantity = (self.quantity_low, self.quantity_high, self.quantity_text)

    @property
    def quantity(self) -> QuantityRange:
        return QuantityRange(self.quantity_low, self.quantity_high, self.quantity_text)

    @property
    def quantity_display(self) -> str:
        shown = format_range(self.quantity_low, self.quantity_high)
        if self.quantity_text and self.quantity_text != shown:
            return f"{shown} ({self.quantity_text!r})"
        return shown

    def clean_quantity(self) -> None:
        low, high = self.quantity_low, self.quantity_high
        text = (self.quantity_text or "").strip()
        self.quantity_text = text
        loaded = getattr(self, "_loaded_quantity", None)
        rewritten = loaded is not None and text != loaded[2] and (low, high) == loaded[:2]
        if text and ((low is None and high is None) or rewritten):
            # Bounds follow the wording when only the wording is given, or when the wording
            # was changed and the bounds were left as they were.
            try:
                parsed = parse_quantity(text)
            except QuantityParseError as exc:
                raise ValidationError({"quantity_text": f"{exc}."}) from exc
            self.quantity_low, self.quantity_high = parsed.low, parsed.high
            return
        if low is None and high is not None:
            raise ValidationError(
                {
                    "quantity_low": f"A high quantity ({high}) needs a low quantity; "
                    "use 0 or 1 if nothing else is known."
                }
            )
        if low is not None and high is not None and low > high:
            raise ValidationError(
                {"quantity_high": f"The high quantity ({high}) is below the low quantity ({low})."}
            )
        if not text:
            self.quantity_text = format_range(low, high) if low is not None else ""


class DatedFields(models.Model):
    """A date and how precise it is. Month and year dates are stored as their first day."""

    date = models.DateField(null=True, blank=True)
    date_precision = models.CharField(
        max_length=10, choices=DatePrecision.choices, default=DatePrecision.DAY
    )

    class Meta:
        abstract = True

    @property
    def date_display(self) -> str:
        return format_date(self.date, self.date_precision)

    def clean_date(self) -> None:
        self.date, self.date_precision = normalize_date(self.date, self.date_precision, "date")


def normalize_date(value: dt.date | None, precision: str, field: str) -> tuple[dt.date | None, str]:
    """Check a date against its precision and move it to the start of its period."""
    if value is None:
        if precision in ("", DatePrecision.UNKNOWN, DatePrecision.DAY):
            # A missing date with the default precision means "we don't know when".
            return None, DatePrecision.UNKNOWN
        raise ValidationError({field: f"A date is required when its precision is {precision!r}."})
    if precision == DatePrecision.UNKNOWN:
        raise ValidationError(
            {f"{field}_precision": f"The precision is 'unknown' but a date ({value}) is given."}
        )
    if precision == DatePrecision.MONTH:
        value = value.replace(day=1)
    elif precision == DatePrecision.YEAR:
        value = value.replace(month=1, day=1)
    return value, precision


def format_date(value: dt.date | None, precision: str) -> str:
    if value is None or precision == DatePrecision.UNKNOWN:
        return "date unknown"
    if precision == DatePrecision.YEAR:
        return f"{value:%Y}"
    if precision == DatePrecision.MONTH:
        return f"{value:%b %Y}"
    return value.isoformat()


def quantity_constraints(table: str) -> list[models.BaseConstraint]:
    """Named constraints for a table with `QuantityFields`: no negatives, low <= high."""
    return [
        models.CheckConstraint(
            condition=models.Q(quantity_low__isnull=True) | models.Q(quantity_low__gte=0),
            name=f"{table}_quantity_low_non_negative",
            violation_error_message="The low quantity must not be negative.",
        ),
        models.CheckConstraint(
            condition=models.Q(quantity_high__isnull=True) | models.Q(quantity_high__gte=0),
            name=f"{table}_quantity_high_non_negative",
            violation_error_message="The high quantity must not be negative.",
        ),
        models.CheckConstraint(
            condition=models.Q(quantity_high__isnull=True)
            | models.Q(quantity_low__lte=models.F("quantity_high")),
            name=f"{table}_quantity_low_lte_high",
            violation_error_message="The low quantity must not exceed the high quantity.",
        ),
    ]


def date_constraints(table: str) -> list[models.BaseConstraint]:
    """Named constraint for a table with `DatedFields`: a date unless precision is unknown."""
    return [
        models.CheckConstraint(
            condition=models.Q(date__isnull=True, date_precision=DatePrecision.UNKNOWN)
            | (models.Q(date__isnull=False) & ~models.Q(date_precision=DatePrecision.UNKNOWN)),
            name=f"{table}_date_matches_precision",
            violation_error_message="A date must be given unless its precision is unknown.",
        ),
    ]
