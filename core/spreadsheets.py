"""Text cells that a spreadsheet would run as a formula, made inert — one rule for every CSV
and XLSX Stockpile writes (the API's `?format=csv`, the admin's and `manage.py export`'s CSV
and XLSX).

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with
an apostrophe, which spreadsheets show as "this is text". So that the rule can be undone
exactly (the `stockpile-csv` import reads our own exports back), a cell that already starts
with an apostrophe gets one more: `formula_restore` removes exactly one leading apostrophe.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def formula_safe(value: Any) -> Any:
    """The cell as written: text that could be a formula (or that starts with the escape
    itself) gets a leading apostrophe; anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, ESCAPE)):
        return ESCAPE + value
    return value


def formula_restore(value: Any) -> Any:
    """The inverse of `formula_safe` (for text read back from one of our exports)."""
    if isinstance(value, str) and value.startswith(ESCAPE):
        return value[1:]
    return value
