"""Codes of the shared value types (stored in the database)."""

from django.db import models


class DatePrecision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"
    ON_OR_BEFORE = "on_or_before", "On or before"
    BETWEEN = "between", "Between two dates"
    UNKNOWN = "unknown", "Unknown"
