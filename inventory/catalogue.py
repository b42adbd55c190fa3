"""One catalogue across datasets: the seed, the keys names are resolved by, the proposals
editors confirm, and the merge of a dataset's name into its catalogue entry.

- `catalogue_seed` loads `inventory/seeds/systems.csv` (documented in docs/catalogue.md):
  each row is a catalogue entry with its family and the names the public datasets use for
  it. Idempotent; a bad row is refused (line, column, value) and nothing is written.
- `CatalogueKeys` holds every system's name, aliases and designation keys in memory (two
  queries), so an import resolves all its names without a query per row.
- `alias_proposals_propose` proposes catalogue entries for the names an import could not
  resolve (same normalized designation, a designation the name also carries, same family
  prefix); `alias_proposal_confirm` / `alias_proposal_reject` are the editors' decisions.
- `system_absorb` makes a name an alias of an entry: the aliases move, the records move
  (through the hooks the record apps register, so history and ledger follow), and the
  emptied system stays as a variant of the entry (its cancelled ledger rows still name it).

Every write goes through the tracked services (history with actor and door).
"""

from __future__ import annotations

import csv
import functools
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.services import Actor, tracked_bulk_create, tracked_save
from inventory.choices import (
    AliasKind,
    CountingUnit,
    ProposalMethod,
    ProposalRelation,
    ProposalStatus,
    SipriCategory,
    UnrocaCategory,
)
from inventory.designations import alternative_keys, designation_key, family_key
from inventory.models import SystemAliasProposal, WeaponSystem, WeaponSystemAlias, normalize_alias

# An import asks for the designation of the same unresolved names row after row.
_designation_key = functools.lru_cache(maxsize=100_000)(designation_key)

SEED_PATH = Path(__file__).resolve().parent / "seeds" / "systems.csv"
SEED_COLUMNS = [
    "name",
    "family",
    "sipri_category",
    "unroca_category",
    "counting_unit",
    "sipri_names",
    "oryx_names",
    "kiel_names",
    "other_names",
    "notes",
]
# The alias kind each column's names are stored with.
NAME_COLUMNS = {
    "sipri_names": AliasKind.DATASET_SPELLING,
    "oryx_names": AliasKind.DATASET_SPELLING,
    "kiel_names": AliasKind.DATASET_SPELLING,
    "other_names": AliasKind.DESIGNATION,
}

# Functions that move the records of one system to another: `(from_id, to_id, actor)`.
# The record apps register theirs (transfers does in its AppConfig.ready), so the catalogue
# never imports them.
SYSTEM_MOVERS: list[Callable[[int, int, Actor], int]] = []


def register_system_mover(mover: Callable[[int, int, Actor], int]) -> None:
    if mover not in SYSTEM_MOVERS:
        SYSTEM_MOVERS.append(mover)


# -- the seed -----------------------------------------------------------------------------


class SeedRefused(Exception):
    """A seed row is wrong: nothing of the seed is written."""

    def __init__(self, line: int, column: str, value: str, message: str) -> None:
        self.line, self.column, self.value, self.message = line, column, value, message
        super().__init__(f"line {line}, {column} {value!r}: {message}")


@dataclass
class SeedEntry:
    line: int
    name: str
    family: str = ""
    sipri_category: str = ""
    unroca_category: str = ""
    counting_unit: str = ""
    aliases: list[tuple[str, str, str]] = field(default_factory=list)  # (text, kind, column)
    notes: str = ""


@dataclass
class SeedReport:
    version: str = ""
    entries: int = 0
    created: int = 0
    updated: int = 0
    aliases_added: int = 0
    absorbed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"Catalogue seed {self.version or '(no version)'}: {self.entries} entries; "
            f"created {self.created}, completed {self.updated}, aliases added "
            f"{self.aliases_added}"
        ]
        for text in self.absorbed:
            lines.append(f"  merged: {text}")
        return "\n".join(lines)


def _split_names(cell: str) -> list[str]:
    return [part.strip() for part in (cell or "").split("|") if part.strip()]


def seed_read(text: str) -> tuple[str, list[SeedEntry]]:
    """The version and entries of a seed file, checked without the database: every name
    has letters or digits, no name is claimed by two entries, a family is an entry above,
    categories and units are known codes. Raises SeedRefused."""
    version = ""
    lines = text.splitlines()
    body_start = 0
    for number, line in enumerate(lines, start=1):
        if not line.startswith("#"):
            body_start = number - 1
            break
        if line.lower().startswith("# version:"):
            version = line.split(":", 1)[1].strip()
    reader = csv.reader(io.StringIO("\n".join(lines[body_start:])))
    rows = list(reader)
    if not rows or [c.strip() for c in rows[0]] != SEED_COLUMNS:
        raise SeedRefused(
            body_start + 1,
            "header",
            ",".join(rows[0]) if rows else "",
            f"is not the seed header ({','.join(SEED_COLUMNS)})",
        )
    choices = {
        "sipri_category": {c.value for c in SipriCategory},
        "unroca_category": {c.value for c in UnrocaCategory},
        "counting_unit": {c.value for c in CountingUnit},
    }
    entries: list[SeedEntry] = []
    claimed: dict[str, tuple[int, str]] = {}  # normalized name -> (line, entry)
    names: set[str] = set()
    for offset, cells in enumerate(rows[1:], start=2):
        line = body_start + offset
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(SEED_COLUMNS):
            raise SeedRefused(
                line, "row", ",".join(cells)[:60], f"has {len(cells)} fields, the header 10"
            )
        row = dict(zip(SEED_COLUMNS, (c.strip() for c in cells), strict=True))
        name = row["name"]
        if not normalize_alias(name):
            raise SeedRefused(line, "name", name, "has no letters or digits")
        if len(name) > 200:
            raise SeedRefused(line, "name", name[:60], "is longer than 200 characters")
        if name.lower() in names:
            raise SeedRefused(line, "name", name, "is the name of an entry above")
        if row["family"] and row["family"].lower() not in names:
            raise SeedRefused(
                line, "family", row["family"], "is not an entry above (families come first)"
            )
        for column, allowed in choices.items():
            if row[column] and row[column] not in allowed:
                raise SeedRefused(
                    line, column, row[column], f"is not one of {', '.join(sorted(allowed))}"
                )
        entry = SeedEntry(
            line=line,
            name=name,
            family=row["family"],
            sipri_category=row["sipri_category"],
            unroca_category=row["unroca_category"],
            counting_unit=row["counting_unit"],
            notes=row["notes"],
        )
        spellings = [(name, AliasKind.NAME, "name")]
        for names_column, kind in NAME_COLUMNS.items():
            spellings.extend(
                (alias, kind, names_column) for alias in _split_names(row[names_column])
            )
        for text, kind, column in spellings:
            key = normalize_alias(text)
            if not key:
                raise SeedRefused(line, column, text, "has no letters or digits")
            if len(text) > 200:
                raise SeedRefused(line, column, text[:60], "is longer than 200 characters")
            other = claimed.get(key)
            if other is not None and other[1] != name:
                raise SeedRefused(line, column, text, f"already names {other[1]} (line {other[0]})")
            if other is None:
                claimed[key] = (line, name)
                entry.aliases.append((text, kind, column))
        names.add(name.lower())
        entries.append(entry)
    return version, entries


def catalogue_seed(*, text: str | None = None, actor: Actor = None) -> SeedReport:
    """Load the seed (the project's file unless `text` is given); see the module docstring.

    An entry is found by its name, else by one of its names; a system an import created for
    one of its names is merged into it (`system_absorb`). Blank fields are filled, a family
    set where none is, missing aliases added; what an editor has set is never overwritten.
    A name that already names another catalogue entry is refused, and nothing is written.

    The catalogue is read once; new entries and aliases are written in bulk, a level of
    the family tree at a time (families before their variants)."""
    if text is None:
        text = SEED_PATH.read_text(encoding="utf-8")
    version, entries = seed_read(text)
    report = SeedReport(version=version, entries=len(entries))
    with transaction.atomic():
        _Seeder(report, actor).run(entries)
    return report


class _Seeder:
    def __init__(self, report: SeedReport, actor: Actor) -> None:
        self.report, self.actor = report, actor
        self.systems = {s.name.lower(): s for s in WeaponSystem.objects.all()}
        self.by_pk = {s.pk: s for s in self.systems.values()}
        self.owner = dict(WeaponSystemAlias.objects.values_list("alias_normalized", "system_id"))

    def _owner_of(self, text: str) -> WeaponSystem | None:
        pk = self.owner.get(normalize_alias(text))
        if pk is not None:
            return self.by_pk.get(pk)
        return self.systems.get(text.strip().lower())

    def run(self, entries: list[SeedEntry]) -> None:
        found: dict[str, WeaponSystem] = {}
        for entry in entries:
            system = self.systems.get(entry.name.lower())
            if system is None:
                for text, _kind, _column in entry.aliases:
                    owner = self._owner_of(text)
                    if owner is not None and owner.catalogued:
                        system = owner  # an editor's entry under another name: completed
                        break
            if system is not None:
                found[entry.name.lower()] = system
        # new entries, a level of the tree at a time
        pending = [e for e in entries if e.name.lower() not in found]
        while pending:
            level = [e for e in pending if not e.family or e.family.lower() in found]
            new = [
                WeaponSystem(
                    name=e.name,
                    parent_id=found[e.family.lower()].pk if e.family else None,
                    sipri_category=e.sipri_category,
                    unroca_category=e.unroca_category,
                    counting_unit=e.counting_unit or CountingUnit.SYSTEM,
                    notes=e.notes,
                    catalogued=True,
                )
                for e in level
            ]
            for system in tracked_bulk_create(WeaponSystem, new, actor=self.actor):
                found[system.name.lower()] = system
                self.systems[system.name.lower()] = system
                self.by_pk[system.pk] = system
            self.report.created += len(new)
            pending = [e for e in pending if e not in level]
        for entry in entries:
            self._complete(entry, found[entry.name.lower()], found)
        aliases = []
        for entry in entries:
            system = found[entry.name.lower()]
            for text, kind, column in entry.aliases:
                key = normalize_alias(text)
                owner_id = self.owner.get(key)
                if owner_id == system.pk:
                    continue
                other = self.by_pk.get(owner_id) if owner_id is not None else None
                if other is None:
                    same_name = self.systems.get(text.strip().lower())
                    other = (
                        same_name if same_name is not None and same_name.pk != system.pk else None
                    )
                if other is not None:
                    if other.catalogued:
                        raise SeedRefused(
                            entry.line, column, text, f"already names the catalogue entry {other}"
                        )
                    self.report.absorbed.append(f"{other.name} → {system.name}")
                    system_absorb(system=other, into=system, actor=self.actor)
                    for alias_key, pk in list(self.owner.items()):
                        if pk == other.pk:
                            self.owner[alias_key] = system.pk
                    continue
                if owner_id is None:
                    self.owner[key] = system.pk
                    aliases.append(
                        WeaponSystemAlias(
                            system_id=system.pk, alias=text, kind=kind, alias_normalized=key
                        )
                    )
        tracked_bulk_create(WeaponSystemAlias, aliases, actor=self.actor)
        self.report.aliases_added += len(aliases)

    def _complete(self, entry: SeedEntry, system: WeaponSystem, found) -> None:
        """Fill what is blank (nothing, on an entry this seed just created)."""
        changed = []
        for name in ("sipri_category", "unroca_category"):
            value = getattr(entry, name)
            if value and not getattr(system, name):
                setattr(system, name, value)
                changed.append(name)
        if system.counting_unit == CountingUnit.SYSTEM and entry.counting_unit not in (
            "",
            CountingUnit.SYSTEM,
        ):
            system.counting_unit = entry.counting_unit
            changed.append("counting_unit")
        parent = found[entry.family.lower()] if entry.family else None
        if parent is not None and system.parent_id is None and parent.pk != system.pk:
            system.parent = parent
            changed.append("parent")
        if not system.catalogued:
            system.catalogued = True
            changed.append("catalogued")
        if changed:
            tracked_save(system, actor=self.actor)
            self.report.updated += 1


# -- merging a name into its entry --------------------------------------------------------


def system_absorb(*, system: WeaponSystem, into: WeaponSystem, actor: Actor = None) -> int:
    """Make `system` (a name an import created) one more name of `into`: its aliases move to
    `into`, its records move (the registered movers re-post their ledger), and it stays as a
    variant of `into`, marked as merged. Returns the number of records moved."""
    if system.pk == into.pk:
        return 0
    ancestor, seen = into, set()
    while ancestor is not None and ancestor.pk not in seen:
        if ancestor.pk == system.pk:
            raise ValidationError(
                {"candidate": f"{into} is a variant of {system}: it cannot absorb its family."}
            )
        seen.add(ancestor.pk)
        ancestor = ancestor.parent
    moved = 0
    with transaction.atomic():
        taken = set(into.aliases.values_list("alias_normalized", flat=True))
        for alias in list(system.aliases.all()):
            if alias.alias_normalized in taken:
                continue
            alias.system = into
            tracked_save(alias, actor=actor)
        for mover in SYSTEM_MOVERS:
            moved += mover(system.pk, into.pk, actor)
        system.parent = into
        system.catalogued = True
        note = f"Merged into {into.name} on {timezone.now():%Y-%m-%d}: its names are aliases there."
        system.notes = f"{system.notes}\n{note}".strip()
        tracked_save(system, actor=actor)
    return moved


# -- the keys an import resolves names by -------------------------------------------------


class CatalogueKeys:
    """Every system's name and aliases, and the designation and family keys of the
    catalogue entries, loaded with two queries."""

    def __init__(self) -> None:
        self.by_name: dict[str, int] = {}
        self.by_alias: dict[str, int] = {}
        self.alias_keys: set[str] = set()  # the keys WeaponSystemAlias rows hold
        self.names: dict[int, str] = {}
        self.parent: dict[int, int | None] = {}
        self.catalogued: set[int] = set()
        spellings: dict[int, list[str]] = defaultdict(list)
        self.category: dict[int, str] = {}
        for pk, name, parent_id, catalogued, category in WeaponSystem.objects.values_list(
            "pk", "name", "parent_id", "catalogued", "sipri_category"
        ):
            self.category[pk] = category
            self.by_name[name.lower()] = pk
            self.by_alias.setdefault(normalize_alias(name) or name.lower(), pk)
            self.names[pk] = name
            self.parent[pk] = parent_id
            if catalogued:
                self.catalogued.add(pk)
            spellings[pk].append(name)
        for system_id, alias, key in WeaponSystemAlias.objects.values_list(
            "system_id", "alias", "alias_normalized"
        ):
            self.by_alias[key] = system_id
            self.alias_keys.add(key)
            spellings[system_id].append(alias)
        # a merged system keeps its name, which is now an alias of its entry: the alias wins
        for pk, name in self.names.items():
            owner = self.by_alias.get(normalize_alias(name))
            if owner is not None and owner != pk and self.by_name.get(name.lower()) == pk:
                del self.by_name[name.lower()]
        self.by_designation: dict[str, set[int]] = defaultdict(set)
        self.by_family: dict[str, set[int]] = defaultdict(set)
        for pk, texts in spellings.items():
            if pk not in self.catalogued:
                continue
            for text in texts:
                key = designation_key(text)
                if key:
                    self.by_designation[key].add(pk)
                family = family_key(text)
                if family:
                    self.by_family[family].add(self.root(pk))

    def root(self, pk: int) -> int:
        seen = set()
        while self.parent.get(pk) is not None and pk not in seen:
            seen.add(pk)
            pk = self.parent[pk]
        return pk

    def by_designation_of(self, name: str) -> int | None:
        """The one catalogue entry whose designation equals the name's (None when none, or
        when several entries share it)."""
        found = self.by_designation.get(_designation_key(name))
        return next(iter(found)) if found and len(found) == 1 else None

    def candidates(self, name: str, category: str = "") -> list[tuple[int, str, str]]:
        """(entry id, relation, method) for a name, best first, each entry once. An entry
        of another SIPRI category than the name's (when both have one) is no candidate: the
        M-48A5 tank is not a variant of the M48 missile."""
        found: dict[int, tuple[int, str, str]] = {}
        found.update(self._candidates(name))
        if category:
            found = {pk: found[pk] for pk in found if self.category.get(pk, "") in ("", category)}
        return list(found.values())

    def _candidates(self, name: str) -> dict[int, tuple[int, str, str]]:
        found: dict[int, tuple[int, str, str]] = {}
        for pk in sorted(self.by_designation.get(designation_key(name), ())):
            found.setdefault(pk, (pk, ProposalRelation.ALIAS, ProposalMethod.DESIGNATION))
        for key in alternative_keys(name):
            for pk in sorted(self.by_designation.get(key, ())):
                found.setdefault(pk, (pk, ProposalRelation.ALIAS, ProposalMethod.ALTERNATIVE))
        family = family_key(name)
        if len(family) >= 3:
            roots = set(self.by_family.get(family, ()))
            roots |= {self.root(pk) for pk in self.by_designation.get(family, ())}
            for pk in sorted(roots):
                if pk in found or any(self.root(other) == pk for other in found):
                    continue
                found[pk] = (pk, ProposalRelation.VARIANT, ProposalMethod.FAMILY)
        return found


def alias_proposals_propose(
    *,
    systems: Iterable[WeaponSystem] | None = None,
    dataset: str = "",
    keys: CatalogueKeys | None = None,
    actor: Actor = None,
) -> int:
    """Propose catalogue entries for names that have none (`systems`: those an import just
    created; default: every system not in the catalogue). A name already proposed for an
    entry (pending, confirmed or rejected) is not proposed again. Returns how many."""
    keys = keys or CatalogueKeys()
    if systems is None:
        systems = WeaponSystem.objects.filter(catalogued=False)
    systems = [s for s in systems if not s.catalogued]
    if not systems:
        return 0
    done = set(SystemAliasProposal.objects.values_list("name_normalized", "candidate_id"))
    new = []
    for system in systems:
        normalized = normalize_alias(system.name)
        for pk, relation, method in keys.candidates(system.name, system.sipri_category):
            if pk == system.pk or (normalized, pk) in done:
                continue
            done.add((normalized, pk))
            new.append(
                SystemAliasProposal(
                    name=system.name,
                    name_normalized=normalized,
                    dataset=dataset,
                    system_id=system.pk,
                    candidate_id=pk,
                    relation=relation,
                    method=method,
                )
            )
    tracked_bulk_create(SystemAliasProposal, new, actor=actor)
    return len(new)


# -- the editors' decisions ---------------------------------------------------------------


def _decided(proposal: SystemAliasProposal, status: str, actor: Actor, note: str) -> None:
    proposal.status = status
    proposal.decided_at = timezone.now()
    proposal.decided_by = actor
    proposal.decided_by_name = actor.get_username() if actor is not None else ""
    if note:
        proposal.note = note
    tracked_save(proposal, actor=actor)


def alias_proposal_confirm(
    *,
    proposal: SystemAliasProposal,
    actor: Actor = None,
    candidate: WeaponSystem | None = None,
    relation: str | None = None,
    note: str = "",
) -> SystemAliasProposal:
    """Confirm a proposal, or correct it (another `candidate` or `relation`). "alias": the
    name's system is merged into the candidate (`system_absorb`); "variant": it becomes a
    variant in the candidate's family. The name's other pending proposals are closed."""
    if proposal.status != ProposalStatus.PENDING:
        raise ValidationError(
            {"status": f"The proposal {proposal} is already {proposal.get_status_display()}."}
        )
    relation = relation or proposal.relation
    if relation not in ProposalRelation.values:
        raise ValidationError({"relation": f"{relation!r} is not alias or variant."})
    with transaction.atomic():
        if candidate is not None and candidate.pk != proposal.candidate_id:
            proposal.candidate = candidate
        proposal.relation = relation
        target = proposal.candidate
        system = proposal.system
        if system is None:
            tracked_save(
                WeaponSystemAlias(
                    system=target, alias=proposal.name, kind=AliasKind.DATASET_SPELLING
                ),
                actor=actor,
            )
        elif relation == ProposalRelation.ALIAS:
            system_absorb(system=system, into=target, actor=actor)
        else:
            if target.pk == system.pk:
                raise ValidationError({"candidate": f"{system} cannot be a variant of itself."})
            system.parent = target
            system.catalogued = True
            tracked_save(system, actor=actor)
        _decided(proposal, ProposalStatus.CONFIRMED, actor, note)
        for other in SystemAliasProposal.objects.filter(
            name_normalized=proposal.name_normalized, status=ProposalStatus.PENDING
        ).exclude(pk=proposal.pk):
            _decided(other, ProposalStatus.REJECTED, actor, f"{proposal.candidate} was confirmed.")
    return proposal


def alias_proposal_reject(
    *, proposal: SystemAliasProposal, actor: Actor = None, note: str = ""
) -> SystemAliasProposal:
    """Reject a proposal: it is kept (never proposed again), with who, when and why."""
    if proposal.status != ProposalStatus.PENDING:
        raise ValidationError(
            {"status": f"The proposal {proposal} is already {proposal.get_status_display()}."}
        )
    _decided(proposal, ProposalStatus.REJECTED, actor, note)
    return proposal
