"""CSV for every list: `?format=csv` (or `Accept: text/csv`).

Each row is one result; nested objects become dotted columns (`donor.code`), lists of
plain values are joined with "; ", and lists of objects (citations) are kept whole as JSON
in one cell. Text cells that a spreadsheet would run as a formula are prefixed with "'"
(core.spreadsheets, the rule of every export).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import orjson
from rest_framework.renderers import BaseRenderer, JSONRenderer

from core.spreadsheets import formula_safe


def flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        row: dict[str, object] = {}
        for key, item in value.items():
            row.update(flatten(item, f"{prefix}{key}."))
        return row
    key = prefix.rstrip(".")
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return {key: "; ".join("" if item is None else str(item) for item in value)}
        return {key: json.dumps(value, default=str, ensure_ascii=False)}
    return {key: value}


def cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return formula_safe(value)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "results" in data:
            data = data["results"]
        if isinstance(data, dict):
            data = [data]
        rows = [flatten(item) for item in data or []]
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(column)) for column in columns])
        return out.getvalue().encode(self.charset)


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON renderer with orjson doing the encoding (several times faster on large
    pages); Decimals become numbers, anything else orjson does not know (lazy strings) str()."""

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def _json_default(value):
    # Decimals are numbers in the schema (coerce_to_string=False), as DRF's encoder does.
    return float(value) if isinstance(value, Decimal) else str(value)
