"""Oryx's lists, as scraped by third parties.

"oryx-supplied": heavy equipment supplied to Ukraine (and a few rows to Russia). One row per
donor × system: `count` 0 means the quantity is unknown; `is_delivered` False is a pledge
not yet delivered (a Pledge, status announced), True a delivery (a Transfer); `proof` is the
evidence link, cited as a source of its own. The `vehicle_type` column is unreliable (the
scraper files HIMARS under "Towed Artillery"): it is kept in the citation, never used as a
category. Donor "NONE" is an undisclosed donor (pledge) or the unknown party (transfer).
Rows repeated word for word are imported once.

"oryx-losses": documented equipment losses. One row per loss entry (one photo or video):
an Expenditure of one unit by the holder in `country`, of the kind in `status`. The number
that prefixes some `system` values ("10 155mm M777A2 howitzer") is Oryx's running tally of
that system at the time of the scrape, not the size of this loss (the same prefix repeats
over rows with different photos): it is stripped from the name and kept in the notes.
`date_recorded` is the day the loss was recorded, not the day of the loss: the loss
happened on or before it, and is dated so (precision "on or before"; unknown without a
date). `url` is the photo evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from core.quantities import QuantityRange
from transfers.choices import (
    Attribution,
    Condition,
    ExpenditureKind,
    PledgeStatus,
    SourceType,
    TransferBasis,
)
from transfers.importers.base import Importer
from transfers.importers.drafts import (
    CitationDraft,
    RecordDraft,
    RowRefused,
    SourceDraft,
    SystemRef,
)
from transfers.importers.parsing import check_url, parse_count, quantity_values
from transfers.importers.report import ImportReport
from transfers.models import Expenditure, Pledge, Transfer

FAMILY = "Oryx"
SUPPLIED_HEADER = [
    "id",
    "vehicle_name",
    "vehicle_type",
    "supplier",
    "supplier_abbr",
    "recipient",
    "recipient_abbr",
    "count",
    "is_delivered",
    "is_soviet",
    "proof",
    "year_first_produced",
]
LOSSES_HEADER = [
    "country",
    "origin",
    "system",
    "status",
    "url",
    "date_recorded",
    "sysID",
    "imageID",
    "statusID",
    "matID",
]
BOOLEAN = {"true": True, "false": False}
LOSS_KINDS = {
    "destroyed": ExpenditureKind.DESTROYED,
    "damaged": ExpenditureKind.DAMAGED,
    "abandoned": ExpenditureKind.ABANDONED,
    "captured": ExpenditureKind.CAPTURED,
    "damaged and captured": ExpenditureKind.CAPTURED,
    "damaged and abandoned": ExpenditureKind.ABANDONED,
    "destroyed and captured": ExpenditureKind.CAPTURED,
}
_TALLY = re.compile(r"^(\d+)\s+(?=\S)")


def evidence_source(url: str) -> SourceDraft:
    social = any(host in url for host in ("twitter.com", "x.com", "t.me", "facebook.com"))
    return SourceDraft(
        url=url,
        title=f"Oryx evidence: {url}"[:500],
        publisher="Oryx (oryxspioenkop.com)",
        source_type=SourceType.SOCIAL_MEDIA if social else SourceType.IMAGERY,
        reliability="B",
    )


class OryxSuppliedImporter(Importer):
    name = "oryx-supplied"
    label = "Oryx supplied-to-Ukraine list"
    description = "Oryx list of heavy equipment supplied to Ukraine (scraped CSV)"

    def release_source(self) -> SourceDraft:
        return SourceDraft(
            title=f"Oryx, heavy equipment supplied to Ukraine (scraped list, {self.release_name()})",
            publisher="Oryx (oryxspioenkop.com), via a third-party scrape (GPL-3.0)",
            source_type=SourceType.DATASET,
            reliability="C",
            content_sha256=self.sha256,
        )

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        dataset = self.release_source()
        return self.table_drafts(
            text,
            SUPPLIED_HEADER,
            report,
            lambda line, row, cells: [self._draft(line, row, ",".join(cells), dataset)],
        )

    def _draft(self, line, row, raw, dataset) -> RecordDraft:
        row_id = row["id"].strip()
        if not re.fullmatch(r"\d+", row_id):
            raise RowRefused("id", row_id, "is not a row number")
        delivered = BOOLEAN.get(row["is_delivered"].strip().lower())
        if delivered is None:
            raise RowRefused("is_delivered", row["is_delivered"], "is not True or False")
        if row["is_soviet"].strip().lower() not in BOOLEAN:
            raise RowRefused("is_soviet", row["is_soviet"], "is not True or False")
        quantity = parse_count(row["count"], "count", zero_unknown=True)
        proof = check_url(row["proof"], "proof") if row["proof"].strip() else ""
        supplier = row["supplier"].strip()
        undisclosed = supplier.upper() in ("NONE", "")
        model = Transfer if delivered else Pledge
        values = {**quantity_values(quantity), "date": None, "date_precision": "unknown"}
        notes = f"Oryx type: {row['vehicle_type'].strip()}."
        if row["is_soviet"].strip().lower() == "true":
            notes += " Soviet-made."
        if undisclosed:
            notes += " Donor not named by Oryx."
        values["notes"] = notes
        if model is Transfer:
            values.update(basis=TransferBasis.UNKNOWN, condition=Condition.UNKNOWN, pledge_id=None)
            donor = ("supplier", "XXU" if undisclosed else supplier)
        else:
            values["status"] = PledgeStatus.ANNOUNCED
            donor = None if undisclosed else ("supplier", supplier)
        citations = [
            CitationDraft(
                source=dataset,
                excerpt=raw,
                locator=f"id {row_id}",
                attribution=Attribution.DATASET,
                credibility=2,
                family="Oryx, heavy equipment supplied",
            )
        ]
        if proof:
            citations.append(
                CitationDraft(
                    source=evidence_source(proof),
                    excerpt=f"{row['vehicle_name'].strip()} from {supplier}",
                    locator="",
                    attribution=Attribution.IMAGERY,
                    credibility=2,
                )
            )
        return RecordDraft(
            model=model,
            external_id=f"oryx-supplied:{row_id}",
            line=line,
            values=values,
            parties={"donor": donor, "recipient": ("recipient", row["recipient"])},
            system=SystemRef(name=row["vehicle_name"].strip(), column="vehicle_name"),
            citations=citations,
        )


class OryxLossesImporter(Importer):
    name = "oryx-losses"
    label = "Oryx equipment-loss list"
    description = "Oryx documented equipment losses (scraped CSV, one row per loss entry)"

    def release_source(self) -> SourceDraft:
        return SourceDraft(
            title=f"Oryx, documented equipment losses (scraped list, {self.release_name()})",
            publisher="Oryx (oryxspioenkop.com), via a third-party scrape (CC BY 4.0)",
            source_type=SourceType.DATASET,
            reliability="B",
            content_sha256=self.sha256,
        )

    def drafts(self, text: str, report: ImportReport) -> Iterator[RecordDraft]:
        dataset = self.release_source()
        return self.table_drafts(
            text,
            LOSSES_HEADER,
            report,
            lambda line, row, cells: [self._draft(line, row, ",".join(cells), dataset)],
        )

    def _draft(self, line, row, raw, dataset) -> RecordDraft:
        key = row["matID"].strip()
        if not key:
            raise RowRefused("matID", "", "is empty: each loss entry has its own id")
        kind = LOSS_KINDS.get(row["status"].strip().lower())
        if kind is None:
            raise RowRefused("status", row["status"], f"is not one of {', '.join(LOSS_KINDS)}")
        system = row["system"].strip()
        tally = ""
        if match := _TALLY.match(system):
            tally, system = match.group(1), system[match.end() :].strip()
        url = check_url(row["url"], "url")
        recorded = row["date_recorded"].strip()
        day = None
        if recorded:
            try:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", recorded):
                    raise ValueError(recorded)
                day = dt.date.fromisoformat(recorded)
            except ValueError:
                raise RowRefused("date_recorded", recorded, "is not a date (YYYY-MM-DD)") from None
        notes = [f"Origin: {row['origin'].strip()}." if row["origin"].strip() else ""]
        if tally:
            notes.append(f"Oryx tally for this system at the scrape: {tally}.")
        if recorded:
            notes.append(f"Recorded by Oryx on {recorded}: the loss happened on or before.")
        return RecordDraft(
            model=Expenditure,
            external_id=f"oryx-loss:{key}",
            line=line,
            values={
                **quantity_values(QuantityRange(1, 1, "1")),
                "date": day,
                "date_precision": "on_or_before" if day else "unknown",
                "kind": kind,
                "location": "",
                "notes": " ".join(filter(None, notes)),
            },
            parties={"holder": ("country", row["country"])},
            system=SystemRef(name=system, column="system"),
            citations=[
                CitationDraft(
                    source=dataset,
                    excerpt=raw,
                    locator=f"matID {key}",
                    credibility=2,
                    family="Oryx, documented equipment losses",
                ),
                CitationDraft(
                    source=evidence_source(url),
                    excerpt=f"{system} {row['status'].strip()}",
                    attribution=Attribution.IMAGERY,
                    credibility=2,
                ),
            ],
        )
