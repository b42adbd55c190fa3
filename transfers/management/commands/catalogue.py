"""manage.py catalogue seed|propose|unresolved: the weapon-system catalogue across datasets.

- `seed`: load the seed catalogue (inventory/seeds/systems.csv, or --file); idempotent.
- `propose`: propose catalogue entries for every name that has none (imports do this for the
  names they create; run it after seeding or after editors added entries).
- `unresolved`: the dataset names with no catalogue entry, most records first.

Lives with the records (transfers) because `unresolved` counts them; see docs/catalogue.md.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.catalogue import SeedRefused, alias_proposals_propose, catalogue_seed
from transfers.selectors import unresolved_system_names


class Command(BaseCommand):
    help = "The weapon-system catalogue: seed it, propose candidates, list unresolved names."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser("seed", help="Load the seed catalogue (idempotent).")
        seed.add_argument("--file", type=Path, help="Another seed file in the same format.")
        sub.add_parser("propose", help="Propose entries for every name that has none.")
        unresolved = sub.add_parser("unresolved", help="Dataset names with no catalogue entry.")
        unresolved.add_argument("--limit", type=int, default=100, help="Rows to print (0: all).")

    def handle(self, *args, action: str, **options):
        if action == "seed":
            path = options.get("file")
            if path is not None and not path.is_file():
                raise CommandError(f"{path} is not a file")
            text = path.read_text(encoding="utf-8") if path is not None else None
            try:
                report = catalogue_seed(text=text)
            except SeedRefused as exc:
                raise CommandError(f"seed refused, nothing was written: {exc}") from exc
            self.stdout.write(report.summary())
        elif action == "propose":
            created = alias_proposals_propose()
            self.stdout.write(f"{created} candidate(s) proposed.")
        else:
            self._unresolved(options["limit"])

    def _unresolved(self, limit: int) -> None:
        names = unresolved_system_names()
        total = names.count()
        rows = list(names[:limit] if limit else names)
        self.stdout.write(f"{total} dataset name(s) with no catalogue entry")
        if not rows:
            return
        width = max(len(row.name) for row in rows)
        self.stdout.write(f"{'records':>8}  {'candidates':>10}  name")
        for row in rows:
            self.stdout.write(
                f"{row.record_count:>8}  {row.pending_count:>10}  {row.name:<{width}}"
            )
        if limit and total > limit:
            self.stdout.write(f"… and {total - limit} more (--limit 0 prints all)")
