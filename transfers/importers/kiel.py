"""Kiel Institute Ukraine Support Tracker, heavy-weapons extract ("kiel").

One row per donor × category; `weapons_list` packs several systems as
`Name (count); Name (count)`, where a name may itself end in a parenthesis
("Modified T-72 tank (T-72A/T-72M1/M1R) (62)"). Each packed system becomes a Transfer from
the donor to Ukraine (basis: aid, i.e. a pledge fulfilled), date unknown. The counts must
add up to `number_of_weapons`; a row whose counts do not is refused. Two entries of one cell
that name the same system ("D-30 howitzer (24); D-30 Howitzer (9)") stay two transfers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from core.quantities import QuantityRange
from inventory.models import normalize_alias
from transfers.choices import Condition, SourceType, TransferBasis
from transfers.importers.base import Importer
from transfers.importers.drafts import (
    CitationDraft,
    RecordDraft,
    RowRefused,
    SourceDraft,
    SystemRef,
)
from transfers.importers.parsing import quantity_values
from transfers.importers.report import ImportReport
from transfers.models import Transfer

HEADER = ["donor", "category", "number_of_weapons", "monetary_value_eur", "weapons_list"]
_ENTRY = re.compile(r"^(?P<name>.+?)\s*\((?P<count>[^()]*)\)\s*$")
RECIPIENT = "Ukraine"


def split_weapons(cell: str) -> list[tuple[str, int]]:
    """ "A (6); B (C) (2)" -> [("A", 6), ("B (C)", 2)]."""
    entries = []
    for part in cell.split(";"):
        part = part.strip()
        if not part:
            continue
        match = _ENTRY.match(part)
        if match is None:
            raise RowRefused("weapons_list", part, "is not 'Name (count)'")
        count = match.group("count").replace(",", "").strip()
        if not re.fullmatch(r"\d+", count):
            raise RowRefused("weapons_list", part, "has no possible count in its last parenthesis")
        entries.append((match.group("name").strip(), int(count)))
    return entries


class KielImporter(Importer):
    name = "kiel"
    label = "Kiel Ukraine Support Tracker weapons extract"
    description = "Kiel Ukraine Support Tracker, heavy weapons by donor and category"

    def release_source(self) -> SourceDraft:
        return SourceDraft(
            title=f"Kiel Institute, Ukraine Support Tracker: heavy weapons extract ({self.release_name()})",
            publisher="Kiel Institute for the World Economy",
            source_type=SourceType.DATASET,
            reliability="B",
            content_sha256=self.sha256,
        )

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        source = self.release_source()
        return self.table_drafts(
            text, HEADER, report, lambda line, row, cells: self._row(line, row, cells, source)
        )

    def _row(self, line, row, cells, source) -> list[RecordDraft]:
        donor, category = row["donor"].strip(), row["category"].strip()
        if not donor:
            raise RowRefused("donor", "", "is empty")
        total = row["number_of_weapons"].strip()
        if not re.fullmatch(r"\d+", total):
            raise RowRefused("number_of_weapons", total, "is not a possible number of weapons")
        value = row["monetary_value_eur"].strip()
        if value and not re.fullmatch(r"\d+(\.\d+)?", value):
            raise RowRefused("monetary_value_eur", value, "is not an amount of euros")
        entries = split_weapons(row["weapons_list"])
        if sum(count for _, count in entries) != int(total):
            raise RowRefused(
                "number_of_weapons",
                total,
                f"is not the sum of the counts in weapons_list ({sum(c for _, c in entries)})",
            )
        raw = ",".join(f'"{cell}"' if not cell.isdigit() else cell for cell in cells)
        seen: dict[str, int] = defaultdict(int)
        drafts = []
        for name, count in entries:
            key = normalize_alias(name)
            seen[key] += 1
            suffix = "" if seen[key] == 1 else f"#{seen[key]}"
            drafts.append(
                RecordDraft(
                    model=Transfer,
                    external_id=f"kiel:{normalize_alias(donor)}:{normalize_alias(category)}:{key}{suffix}"[
                        :200
                    ],
                    line=line,
                    values={
                        **quantity_values(QuantityRange(count, count, str(count))),
                        "date": None,
                        "date_precision": "unknown",
                        "basis": TransferBasis.PLEDGE,
                        "condition": Condition.UNKNOWN,
                        "pledge_id": None,
                        "notes": f"Kiel category: {category}.",
                    },
                    parties={"donor": ("donor", donor), "recipient": ("recipient", RECIPIENT)},
                    system=SystemRef(name=name, column="weapons_list"),
                    citations=[
                        CitationDraft(
                            source=source,
                            excerpt=raw,
                            locator=f"{donor}, {category}: {name} ({count})"[:200],
                            credibility=2,
                            family="Kiel Institute, Ukraine Support Tracker",
                        )
                    ],
                )
            )
        return drafts
