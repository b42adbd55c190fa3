"""Holdings (baselines): counts of what a holder had, from a yearbook or a report ("holdings").

A template analysts fill in by hand (UTF-8 CSV, one row per count):

    holder,system,quantity,date,source
    Ukraine,T-64BV,"about 100",2021-12-31,"IISS, The Military Balance 2022, p. 210"
    Poland,Leopard 2A4,128,2021,https://example.org/yearbook-2021

- `holder`: a party's code, name or alias (refused when unknown);
- `system`: a system's name or alias (created when missing, as the other formats do);
- `quantity`: a count or wording ("about 100", "at least 20", "dozens", "unknown");
- `date`: the day the count is as of: `2021-12-31`, a month `2021-12`, a year `2021`,
  `on or before 2021-12-31`, or `2021-10-01..2021-12-31` (between);
- `source`: an http(s) URL, or the title of a publication (page included).

Each row becomes a **Holding**, kind *in inventory*: the estimates' baseline for that holder
and system (docs/estimates.md). Re-importing a corrected file updates the count of the same
holder × system × date instead of adding another.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from core.choices import DatePrecision
from inventory.models import normalize_alias
from transfers.choices import Attribution, HoldingKind, SourceType
from transfers.importers.base import Importer
from transfers.importers.drafts import (
    CitationDraft,
    RecordDraft,
    RowRefused,
    SourceDraft,
    SystemRef,
)
from transfers.importers.parsing import check_url, parse_wording, quantity_values
from transfers.importers.report import ImportReport
from transfers.models import Holding

HEADER = ["holder", "system", "quantity", "date", "source"]
_DAY = r"\d{4}-\d{2}-\d{2}"


def _day(text: str, whole: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RowRefused("date", whole, f"has {text!r}, which is not a day (YYYY-MM-DD)") from None


def parse_baseline_date(value: str) -> tuple[dt.date, str, dt.date | None]:
    """(date, precision, date_end) of the template's date column."""
    text = value.strip()
    lowered = text.lower()
    if re.fullmatch(_DAY, text):
        return _day(text, value), DatePrecision.DAY, None
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return _day(f"{text}-01", value), DatePrecision.MONTH, None
    if re.fullmatch(r"\d{4}", text):
        if not 1900 <= int(text) <= dt.date.today().year + 1:
            raise RowRefused("date", value, "is not a possible year (1900–next year)")
        return dt.date(int(text), 1, 1), DatePrecision.YEAR, None
    if match := re.fullmatch(rf"(?:on or before|<=)\s*({_DAY})", lowered):
        return _day(match.group(1), value), DatePrecision.ON_OR_BEFORE, None
    if match := re.fullmatch(rf"({_DAY})\s*\.\.\s*({_DAY})", text):
        first, last = _day(match.group(1), value), _day(match.group(2), value)
        if last < first:
            raise RowRefused("date", value, "ends before it starts")
        return first, DatePrecision.BETWEEN, last
    if not text:
        raise RowRefused("date", value, "is empty: a count is as of a date")
    raise RowRefused(
        "date",
        value,
        "is not a date (YYYY-MM-DD, YYYY-MM, YYYY, 'on or before YYYY-MM-DD' or "
        "'YYYY-MM-DD..YYYY-MM-DD')",
    )


class HoldingsImporter(Importer):
    name = "holdings"
    label = "holdings (baselines) template"
    description = (
        "counts of what a holder had as of a date (template: holder, system, quantity, date, "
        "source), the estimates' baselines"
    )

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        return self.table_drafts(
            text, HEADER, report, lambda line, row, cells: [self._draft(line, row, cells)]
        )

    def _draft(self, line: int, row: dict[str, str], cells: list[str]) -> RecordDraft:
        holder, system = row["holder"].strip(), row["system"].strip()
        if not holder:
            raise RowRefused("holder", "", "is empty: whose count is it?")
        if not system:
            raise RowRefused("system", "", "is empty: a count of which system?")
        wording = row["quantity"].strip()
        if not wording:
            raise RowRefused("quantity", "", "is empty: give a count or wording ('unknown')")
        quantity = parse_wording(wording, "quantity")
        date, precision, date_end = parse_baseline_date(row["date"])
        source_text = row["source"].strip()
        if not source_text:
            raise RowRefused("source", "", "is empty: every count needs its source")
        if source_text.lower().startswith(("http://", "https://")):
            url = check_url(source_text, "source")
            source = SourceDraft(title=url[:500], url=url, source_type=SourceType.OTHER)
        else:
            source = SourceDraft(title=source_text[:500], source_type=SourceType.OTHER)
        key = ":".join(
            [normalize_alias(holder), normalize_alias(system), row["date"].strip().lower()]
        )
        return RecordDraft(
            model=Holding,
            external_id=f"holdings:{key}"[:200],
            line=line,
            values={
                **quantity_values(quantity),
                "kind": HoldingKind.IN_INVENTORY,
                "date": date,
                "date_precision": precision,
                "date_end": date_end,
                "notes": "",
            },
            parties={"holder": ("holder", holder), "supplier": None},
            system=SystemRef(name=system, column="system"),
            citations=[
                CitationDraft(
                    source=source,
                    excerpt=",".join(cells)[:2000],
                    locator=f"line {line}",
                    attribution=Attribution.DOCUMENT,
                    credibility=6,
                )
            ],
        )
