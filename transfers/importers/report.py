"""The report of an import: counts per record type, the refused rows, timings."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from transfers.importers.drafts import MODEL_ORDER, RowError

# -- the report ---------------------------------------------------------------------------


@dataclass
class ImportReport:
    format: str
    filename: str = ""
    dry_run: bool = False
    skip_bad_rows: bool = False
    rows: int = 0
    duplicates: int = 0
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    refused_rows: set[int] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)
    file_error: str = ""
    parties_created: list[str] = field(default_factory=list)
    systems_created: int = 0
    names_unresolved: int = 0
    proposals_created: int = 0
    sources_created: int = 0
    citations_created: int = 0
    roles_created: int = 0  # other parties the rows state (issue 17)
    citations_updated: int = 0
    seconds: float = 0.0
    written: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    movements: dict[str, int] = field(default_factory=dict)

    def lap(self, phase: str, since: float) -> float:
        """Add the time since `since` to `phase`; returns now (for the next lap)."""
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - since
        return now

    @property
    def ok(self) -> bool:
        return not self.file_error and (not self.errors or self.skip_bad_rows)

    def refuse(self, line: int, field_name: str, value: Any, message: str) -> None:
        self.errors.append(RowError(line, field_name, "" if value is None else str(value), message))
        self.refused_rows.add(line)

    def totals(self) -> dict[str, int]:
        return {
            "created": sum(self.created.values()),
            "updated": sum(self.updated.values()),
            "unchanged": sum(self.unchanged.values()),
            "refused": len(self.refused_rows),
        }

    def summary_lines(self) -> list[str]:
        if self.file_error:
            return [
                f"Refused {self.filename or 'the file'} ({self.format}): {self.file_error}",
                "Nothing was written.",
            ]
        totals = self.totals()
        head = (
            f"{self.format} import of {self.filename or 'the file'}: {self.rows} rows read; "
            f"created {totals['created']}, updated {totals['updated']}, "
            f"unchanged {totals['unchanged']}, refused {totals['refused']} row(s)"
        )
        lines = [head]
        for model in MODEL_ORDER:
            name = model._meta.verbose_name
            c, u, n = self.created[name], self.updated[name], self.unchanged[name]
            if c or u or n:
                lines.append(f"  {name}: created {c}, updated {u}, unchanged {n}")
        extras = []
        if self.duplicates:
            extras.append(f"{self.duplicates} duplicate row(s) ignored")
        if self.skipped:
            extras.append(
                f"{len(self.skipped)} record(s) skipped as saying nothing about a stock "
                f"({'; '.join(self.skipped[:5])}{' …' if len(self.skipped) > 5 else ''})"
            )
        if self.parties_created:
            extras.append(f"parties created: {', '.join(self.parties_created)}")
        if self.systems_created:
            extras.append(f"{self.systems_created} weapon system(s) created")
        if self.names_unresolved:
            extras.append(
                f"{self.names_unresolved} name(s) with no catalogue entry "
                f"({self.proposals_created} candidate(s) proposed): "
                "see `manage.py catalogue unresolved`"
            )
        if self.sources_created:
            extras.append(f"{self.sources_created} source(s) created")
        if self.citations_created or self.citations_updated:
            extras.append(
                f"citations: {self.citations_created} created, {self.citations_updated} updated"
            )
        if self.roles_created:
            extras.append(f"{self.roles_created} party role(s) created")
        if self.movements.get("movements") or self.movements.get("pending"):
            extras.append(
                f"matching: {self.movements.get('movements', 0)} movement(s) created or "
                f"updated, {self.movements.get('pending', 0)} new match(es) to review"
            )
        lines.extend(f"  {extra}" for extra in extras)
        for error in self.errors[:200]:
            lines.append(f"  error: {error}")
        if len(self.errors) > 200:
            lines.append(f"  … and {len(self.errors) - 200} more error(s)")
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        elif self.errors and not self.skip_bad_rows:
            lines.append(
                "Nothing was written: fix the rows above, or import with --skip-bad-rows "
                "to import the other rows."
            )
        elif self.errors:
            lines.append(f"Skipped {len(self.refused_rows)} bad row(s); the others were imported.")
        if self.timings:
            lines.append(
                "  time: "
                + ", ".join(f"{name} {secs:.2f} s" for name, secs in self.timings.items())
            )
        if self.seconds:
            rate = self.rows / self.seconds if self.seconds else 0
            lines.append(f"  {self.seconds:.2f} s ({rate:,.0f} rows/s)")
        return lines

    def summary(self) -> str:
        return "\n".join(self.summary_lines())
