"""Value types shared by the records and the ledger: quantity ranges and dates with precision.

Both are abstract models so that each concrete table carries its own named constraints.
"""

from __future__ import annotations

import calendar
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
    """A date and how precise it is: an interval of days (`date_interval`). Month and year
    dates are stored as their first day; "on or before" keeps the last possible day in
    `date`; "between" keeps the first in `date` and the last in `date_end`."""

    date = models.DateField(null=True, blank=True)
    date_precision = models.CharField(
        max_length=12, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    date_end = models.DateField(
        null=True,
        blank=True,
        help_text="The last possible day, when the precision is 'between'; empty otherwise.",
    )

    class Meta:
        abstract = True

    @property
    def date_display(self) -> str:
        return format_date(self.date, self.date_precision, self.date_end)

    @property
    def date_interval(self) -> tuple[dt.date | None, dt.date | None]:
        return date_interval(self.date, self.date_precision, self.date_end)

    def clean_date(self) -> None:
        self.date, self.date_precision = normalize_date(self.date, self.date_precision, "date")
        self.date_end = check_date_end(self.date, self.date_precision, self.date_end, "date")


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


def check_date_end(
    value: dt.date | None, precision: str, end: dt.date | None, field: str
) -> dt.date | None:
    """The last day of a "between" date: required for it, refused for every other precision."""
    if precision != DatePrecision.BETWEEN:
        if end is not None:
            raise ValidationError(
                {f"{field}_end": f"An end date ({end}) is only given when the precision is "
                 f"'between' (it is {precision!r})."}
            )  # fmt: skip
        return None
    if end is None:
        raise ValidationError({f"{field}_end": "A date 'between' needs its last day."})
    if value is not None and end < value:
        raise ValidationError(
            {f"{field}_end": f"The last day ({end}) is before the first day ({value})."}
        )
    return end


def date_interval(
    value: dt.date | None, precision: str, end: dt.date | None = None
) -> tuple[dt.date | None, dt.date | None]:
    """The first and the last day a dated event may have happened on (both inclusive).

    None as the first day is the beginning of time. None as the last day is "no later than
    it was reported": an unknown date. Day: (d, d); month and year: the whole period; on or
    before d: (None, d); between: (date, date_end); unknown: (None, None).
    """
    if value is None or precision == DatePrecision.UNKNOWN:
        return None, None
    if precision == DatePrecision.MONTH:
        first = value.replace(day=1)
        return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if precision == DatePrecision.YEAR:
        return value.replace(month=1, day=1), value.replace(month=12, day=31)
    if precision == DatePrecision.ON_OR_BEFORE:
        return None, value
    if precision == DatePrecision.BETWEEN:
        return value, end if end is not None else value
    return value, value


def format_date(value: dt.date | None, precision: str, end: dt.date | None = None) -> str:
    if value is None or precision == DatePrecision.UNKNOWN:
        return "date unknown"
    if precision == DatePrecision.YEAR:
        return f"{value:%Y}"
    if precision == DatePrecision.MONTH:
        return f"{value:%b %Y}"
    if precision == DatePrecision.ON_OR_BEFORE:
        return f"on or before {value.isoformat()}"
    if precision == DatePrecision.BETWEEN:
        return f"between {value.isoformat()} and {end.isoformat() if end else '?'}"
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
        models.CheckConstraint(
            condition=models.Q(date_end__isnull=True)
            & ~models.Q(date_precision=DatePrecision.BETWEEN)
            | models.Q(
                date_precision=DatePrecision.BETWEEN,
                date_end__isnull=False,
                date_end__gte=models.F("date"),
            ),
            name=f"{table}_date_end_matches_precision",
            violation_error_message="A date 'between' has a last day on or after its first; "
            "other dates have none.",
        ),
    ]
