"""Parsing helpers the formats share: decoding, CSV, headers, years, counts, wording, URLs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from typing import Any

from django.utils import timezone

from core.choices import DatePrecision
from core.quantities import QuantityParseError, QuantityRange, approximately, parse_quantity
from core.weblinks import MAX_URL_LENGTH, is_web_url
from transfers.importers.drafts import FileRefused, RowRefused

# -- shared parsing helpers ---------------------------------------------------------------


def decode(data: bytes, encoding: str, label: str) -> str:
    """Decode strictly; a wrong encoding is refused with the line where it shows."""
    if data.startswith(b"\xef\xbb\xbf") and encoding.replace("-", "").lower() == "utf8":
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRefused(
            f"the file is not {encoding} as {label} files are (byte {data[exc.start]:#04x} "
            f"cannot be read)",
            line=line,
        ) from exc


def read_csv(
    text: str, *, start_line: int = 1, delimiter: str = ","
) -> list[tuple[int, list[str]]]:
    """CSV rows with the line each starts on. An unterminated quote is a truncated file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = start_line
    try:
        for cells in reader:
            rows.append((line, cells))
            line = start_line + reader.line_num
    except csv.Error as exc:
        raise FileRefused(f"the file is truncated or malformed ({exc})", line=line) from exc
    return rows


def check_header(found: list[str], expected: list[str], *, line: int, label: str) -> None:
    if [cell.strip() for cell in found] != [cell.strip() for cell in expected]:
        missing = [name for name in expected if name.strip() and name not in found]
        extra = [name for name in found if name.strip() and name not in expected]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(map(repr, missing))}")
        if extra:
            detail.append(f"unexpected {', '.join(map(repr, extra))}")
        if not detail:
            detail.append("the columns are in another order")
        raise FileRefused(
            f"the header is not that of a {label} file ({'; '.join(detail)})", line=line
        )


def check_rows_complete(rows: list[tuple[int, list[str]]], width: int, text: str) -> None:
    """A last row shorter than the header, in a file that does not end with a line break,
    is a truncated file."""
    if rows and len(rows[-1][1]) != width and not text.endswith(("\n", "\r")):
        raise FileRefused(
            f"the file is truncated: its last row has {len(rows[-1][1])} of {width} fields "
            "and no line end",
            line=rows[-1][0],
        )


YEAR_MIN, YEAR_MAX = 1900, 2100


def parse_year(value: str, column: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{4}", value):
        raise RowRefused(column, value, "is not a year (four digits)")
    year = int(value)
    if not YEAR_MIN <= year <= min(YEAR_MAX, timezone.now().year + 1):
        raise RowRefused(column, value, f"is not a possible year ({YEAR_MIN}–this year)")
    return year


def year_date(year: int | None) -> tuple[dt.date | None, str]:
    if year is None:
        return None, DatePrecision.UNKNOWN
    return dt.date(year, 1, 1), DatePrecision.YEAR


def parse_count(
    value: str, column: str, *, estimate: bool = False, zero_unknown: bool = False
) -> QuantityRange:
    """A dataset's count: a non-negative whole number (blank: unknown); `estimate` widens
    it as "about" (SIPRI's flags); `zero_unknown` reads 0 as unknown (Oryx)."""
    value = (value or "").strip()
    if value in ("", "?"):
        return QuantityRange(None, None, value)
    cleaned = value.replace(",", "")
    if re.fullmatch(r"\d+\.0+", cleaned):
        cleaned = cleaned.split(".")[0]
    if not re.fullmatch(r"\d+", cleaned):
        raise RowRefused(column, value, "is not a possible number of units (a whole number ≥ 0)")
    number = int(cleaned)
    if number > 10_000_000:
        raise RowRefused(column, value, "is not a possible number of units (too large)")
    if number == 0 and zero_unknown:
        return QuantityRange(None, None, "unknown")
    if estimate and number > 0:
        return QuantityRange(*approximately(number), f"{number}?")
    return QuantityRange(number, number, str(number))


def quantity_values(quantity: QuantityRange) -> dict[str, Any]:
    return {
        "quantity_low": quantity.low,
        "quantity_high": quantity.high,
        "quantity_text": quantity.text[:200],
    }


def parse_wording(value: str, column: str) -> QuantityRange:
    try:
        return parse_quantity(value)
    except QuantityParseError as exc:
        raise RowRefused(column, value, str(exc)) from exc


def short_hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]


def check_url(value: str, column: str) -> str:
    """An http(s) address (core.weblinks, the rule of every door), else the row is
    refused naming the column and the value."""
    value = (value or "").strip()
    if len(value) > MAX_URL_LENGTH:
        raise RowRefused(column, value[:60], f"is longer than {MAX_URL_LENGTH} characters")
    if not is_web_url(value):
        raise RowRefused(column, value, "is not a web address (http:// or https://)")
    return value
