"""Ranges as sources write them: a number and a unit (km, miles, nautical miles), read from
the wording when only the wording is given ("up to 190 miles / about 300 km": the first
range named, 190 miles)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

KM_PER_UNIT = {"km": Decimal("1"), "mi": Decimal("1.609344"), "nmi": Decimal("1.852")}

_UNITS = [
    (re.compile(r"^(nautical\s+miles?|nmi|nm|n\.\s?mi\.?)\b", re.I), "nmi"),
    (re.compile(r"^(kilomet(?:er|re)s?|kms?)\b", re.I), "km"),
    (re.compile(r"^(miles?|mi)\b", re.I), "mi"),
]
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:-|–)?\s*")


def range_parse(wording: str) -> tuple[Decimal, str] | None:
    """The first "<number> <unit>" of the wording, or None when it names no range."""
    for match in _NUMBER.finditer(wording or ""):
        rest = wording[match.end() :]
        for pattern, unit in _UNITS:
            if pattern.match(rest):
                return Decimal(match.group(1).replace(",", "")), unit
    return None


def range_in_km(value: Decimal, unit: str) -> Decimal:
    """The range in km, to a tenth (the catalogue's precision)."""
    return (Decimal(value) * KM_PER_UNIT[unit]).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
