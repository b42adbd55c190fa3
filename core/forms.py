"""Admin form parts shared by the apps: dates typed at their precision, and one error per
field (a field that failed its own parsing gets no second, follow-up error from the model).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from core.choices import DatePrecision

PRECISION_ORDER = [DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.YEAR]
MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (
        dt.date(2000, number, 1).strftime("%b").lower(),
        dt.date(2000, number, 1).strftime("%B").lower(),
    )
}


class PartialDate(NamedTuple):
    """A typed date and the precision its spelling gives ("2024-11": month)."""

    value: dt.date
    precision: str


def parse_partial_date(text: str) -> PartialDate:
    """'2024-11-05' (day), '2024-11' or 'Nov 2024' (month), '2024' (year); ValueError else."""
    text = (text or "").strip()
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        year, month, day = map(int, match.groups())
        return PartialDate(dt.date(year, month, day), DatePrecision.DAY)
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = map(int, match.groups())
        return PartialDate(dt.date(year, month, 1), DatePrecision.MONTH)
    if match := re.fullmatch(r"([A-Za-z]+)\.? (\d{4})", text):
        month = MONTHS.get(match.group(1).lower())
        if month is None:
            raise ValueError(f"unknown month {match.group(1)!r}")
        return PartialDate(dt.date(int(match.group(2)), month, 1), DatePrecision.MONTH)
    if re.fullmatch(r"\d{4}", text):
        return PartialDate(dt.date(int(text), 1, 1), DatePrecision.YEAR)
    raise ValueError("not a date")


def format_partial_date(value: dt.date | None, precision: str) -> str:
    """How a stored date is typed back: 2024-11-05, 2024-11, 2024."""
    if value is None:
        return ""
    if precision == DatePrecision.YEAR:
        return f"{value:%Y}"
    if precision == DatePrecision.MONTH:
        return f"{value:%Y-%m}"
    return value.isoformat()


def coarser(first: str, second: str) -> str:
    """The less precise of two precisions (day < month < year)."""
    ranks = {p: i for i, p in enumerate(PRECISION_ORDER)}
    return max(first, second, key=lambda p: ranks.get(p, -1))


class PartialDateField(forms.CharField):
    """A date typed at day, month or year precision; cleans to a `PartialDate` or None."""

    default_error_messages = {
        "invalid": "Enter a date as 2024-11-05, 2024-11 (a month) or 2024 (a year), not %(value)r."
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"placeholder": "2024-11-05, 2024-11 or 2024", "size": 16}),
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_partial_date(text)
        except ValueError:
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": text}
            ) from None


class OneErrorPerFieldMixin:
    """A field that failed its own cleaning ("2024-13") gets no second error from the
    model's clean(), which only saw the field as empty ("A date is required…")."""

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            for field in list(errors.error_dict):
                if field != NON_FIELD_ERRORS and field in self._errors:
                    del errors.error_dict[field]
            if not errors.error_dict:
                return
        super()._update_errors(errors)


class PartialDateFormMixin(OneErrorPerFieldMixin):
    """A model form whose `<name>` date (with `<name>_precision`) is typed as 2024-11-05,
    2024-11 or 2024: the spelling sets the precision when it is coarser than the one
    chosen; a finer spelling is cut to the chosen precision by the model."""

    partial_dates: tuple[tuple[str, str], ...] = (("date", "date_precision"),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, precision_name in self.partial_dates:
            if name not in self.fields:
                continue
            old = self.fields[name]
            self.fields[name] = PartialDateField(
                required=old.required, label=old.label, help_text=old.help_text
            )
            value = getattr(self.instance, name, None)
            if value is not None and not self.is_bound:
                precision = getattr(self.instance, precision_name, DatePrecision.DAY)
                self.initial[name] = format_partial_date(value, precision)

    def clean(self):
        cleaned = super().clean()
        for name, precision_name in self.partial_dates:
            typed = cleaned.get(name)
            if isinstance(typed, PartialDate):
                chosen = cleaned.get(precision_name) or DatePrecision.DAY
                if chosen == DatePrecision.UNKNOWN:
                    chosen = DatePrecision.DAY
                cleaned[name] = typed.value
                cleaned[precision_name] = coarser(typed.precision, chosen)
        return cleaned
