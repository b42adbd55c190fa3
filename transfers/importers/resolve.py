"""Parties and systems resolved in memory, a whole file at a time (no query per row):
the catalogue's names and aliases, and the dataset names it does not know yet."""

from __future__ import annotations

import base64
import functools
import hashlib

from core.services import Actor, tracked_bulk_create, tracked_bulk_update
from inventory.catalogue import CatalogueKeys, alias_proposals_propose
from inventory.choices import AliasKind, PartyKind
from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias, normalize_alias
from inventory.services import country_create
from transfers.importers.drafts import RowRefused, SystemRef

# -- resolving parties and systems in memory ----------------------------------------------

# A register names the same few hundred parties and systems over and over: normalize each
# spelling once.
_normalized = functools.lru_cache(maxsize=100_000)(normalize_alias)

# Spellings of states that datasets use and the catalogue does not know (added as aliases
# the first time an import meets them).
STATE_SPELLINGS = {
    "bosnia herzegovina": "BA",
    "czechia": "CZ",
    "turkiye": "TR",
    "libya": "LY",
    "syria": "SY",
    "iran": "IR",
    "laos": "LA",
    "moldova": "MD",
    "tanzania": "TZ",
    "venezuela": "VE",
    "bolivia": "BO",
    "vietnam": "VN",
    "east timor": "TL",
    "timor leste": "TL",
    "brunei": "BN",
    "gambia": "GM",
    "bahamas": "BS",
    "kosovo": "XK",
    "north macedonia": "MK",
    "eswatini": "SZ",
    "cabo verde": "CV",
    "sao tome and principe": "ST",
    "st vincent and the grenadines": "VC",
    "st kitts and nevis": "KN",
    "st lucia": "LC",
}


# Parties that are neither ISO states nor marked with SIPRI's stars, that registers name:
# created with this kind the first time an import meets them.
KNOWN_PARTIES = {
    "north yemen": ("North Yemen", PartyKind.HISTORICAL),
    "south yemen": ("South Yemen", PartyKind.HISTORICAL),
    "south vietnam": ("South Vietnam", PartyKind.HISTORICAL),
    "north vietnam": ("North Vietnam", PartyKind.HISTORICAL),
    "rhodesia": ("Rhodesia", PartyKind.HISTORICAL),
    "katanga": ("Katanga", PartyKind.NON_STATE),
    "biafra": ("Biafra", PartyKind.NON_STATE),
}


def party_words(name: str) -> str:
    """A party's name as the set of its words, parentheses and SIPRI's stars ignored:
    "HoR (Libya)*" and "Libya HoR" are both "hor libya"."""
    return " ".join(sorted(set(_normalized((name or "").rstrip("*")).split())))


def party_code(name: str, *, digest: int = 4) -> str:
    """The code minted for a party that is not a state: the initials of its words (in
    `party_words` order, at most four) and a short digest of those words, "HL-RV5Y" for
    "HoR (Libya)" and "Libya HoR" alike. Never two letters (reserved for ISO 3166)."""
    words = party_words(name)
    initials = "".join(word[0] for word in words.split()).upper()[:4] or "X"
    tail = base64.b32encode(hashlib.sha1(words.encode()).digest()).decode()[:digest]
    return f"{initials}-{tail}"


class PartyIndex:
    """Every party by code, name and alias, loaded once; new parties are created through
    `country_create` as the import meets them."""

    def __init__(self, actor: Actor = None) -> None:
        self.actor = actor
        self.by_key: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.by_words: dict[str, set[int]] = {}  # party_words(name or alias) -> parties
        for pk, code, name in Country.objects.values_list("pk", "code", "name"):
            self.by_key.setdefault(f"code:{code.upper()}", pk)
            self.by_key.setdefault(f"name:{name.lower()}", pk)
            self.names[pk] = name
        for country_id, key in CountryAlias.objects.values_list("country_id", "alias_normalized"):
            self.by_key.setdefault(f"alias:{key}", country_id)
            self.by_words.setdefault(party_words(key), set()).add(country_id)
        for pk, name in self.names.items():
            self.by_words.setdefault(party_words(name), set()).add(pk)
        self.codes = {key[5:] for key in self.by_key if key.startswith("code:")}
        self.created: list[str] = []

    def find(self, text: str) -> int | None:
        text = (text or "").strip()
        if not text:
            return None
        for key in (
            f"code:{text.upper()}",
            f"name:{text.lower()}",
            f"alias:{_normalized(text)}",
        ):
            if key in self.by_key:
                return self.by_key[key]
        return None

    def resolve(self, text: str, *, column: str, create: bool = True) -> int:
        """The party a dataset names: its code, name or alias; SIPRI's `*` (non-state) and
        `**` (organization) parties are created when missing; "unknown …" is XXU."""
        text = (text or "").strip()
        found = self.find(text)
        if found is not None:
            return found
        bare = text.rstrip("*").strip()
        stars = len(text) - len(text.rstrip("*"))
        found = self.find(bare) if bare != text else None
        if found is None and _normalized(bare) in STATE_SPELLINGS:
            found = self.find(STATE_SPELLINGS[_normalized(bare)])
            if found is not None and create:
                self._alias(found, text)
        if found is None and bare:
            # the same words in another order ("Libya HoR" and "HoR (Libya)"): one party
            same = self.by_words.get(party_words(bare), set())
            if len(same) == 1:
                found = next(iter(same))
                if create:
                    self._alias(found, text)
        if found is not None:
            return found
        if bare.lower().startswith("unknown") and not stars:
            unknown = self.find("XXU")
            if unknown is not None:
                return unknown
        known = KNOWN_PARTIES.get(_normalized(bare))
        if (not stars and not known) or not create or not bare:
            raise RowRefused(
                column, text, "is not a known country or party (add it or an alias first)"
            )
        if known:
            bare, kind = known
        else:
            kind = PartyKind.ORGANIZATION if stars >= 2 else PartyKind.NON_STATE
        code = self._new_code(bare)
        party = country_create(code=code, name=bare, kind=kind, aliases=[text], actor=self.actor)
        for key in (f"code:{code}", f"name:{bare.lower()}", f"alias:{_normalized(text)}"):
            self.by_key[key] = party.pk
        self.by_words.setdefault(party_words(bare), set()).add(party.pk)
        self.names[party.pk] = bare
        self.codes.add(code)
        self.created.append(f"{bare} ({code}, {kind})")
        return party.pk

    def _alias(self, country_id: int, text: str) -> None:
        key = _normalized(text)
        if key and f"alias:{key}" not in self.by_key:
            CountryAlias.objects.create(country_id=country_id, alias=text, alias_normalized=key)
            self.by_key[f"alias:{key}"] = country_id

    def _new_code(self, name: str) -> str:
        """A code made from the name alone (`party_code`), so the same party gets the same
        code whichever file, spelling or order of imports meets it first."""
        code = party_code(name)
        # never a code that is already some party's code, name or alias (LUX is Luxembourg);
        # a longer digest only for the (astronomically rare) clash of two digests
        length = 4
        while code in self.codes or self.find(code) is not None:
            length += 1
            code = party_code(name, digest=length)
        return code


class SystemIndex:
    """Every weapon system by name and alias (normalized), and the catalogue's designation
    keys, loaded once (`inventory.catalogue.CatalogueKeys`). A name resolves by its exact
    name or alias, else by a designation equal to one catalogue entry's ("Leopard 2A4" finds
    "Leopard-2A4"; the spelling is then added as an alias of the entry). Names that still
    resolve to nothing become systems created in bulk outside the catalogue (listed as
    unresolved), each with the dataset's spelling as an alias and the catalogue entries it
    may be proposed for (`alias_proposals_propose`)."""

    def __init__(self, dataset: str = "") -> None:
        self.dataset = dataset
        self.catalogue = CatalogueKeys()
        self.by_name = self.catalogue.by_name
        self.by_alias = self.catalogue.by_alias
        self.taken_aliases = set(self.catalogue.alias_keys)
        self.pending: dict[str, SystemRef] = {}  # normalized key -> first reference
        self.learned: dict[str, tuple[int, str]] = {}  # alias key -> (entry id, spelling)
        self.proposals_created = 0
        self.unresolved_created = 0

    def key(self, name: str) -> str:
        return _normalized(name) or name.lower()

    def find(self, name: str) -> int | None:
        name = (name or "").strip()
        if name.lower() in self.by_name:
            return self.by_name[name.lower()]
        key = self.key(name)
        found = self.by_alias.get(key)
        if found is None and name:
            found = self.catalogue.by_designation_of(name)
            if found is not None:
                self.by_alias[key] = found
                if key not in self.taken_aliases:
                    self.learned.setdefault(key, (found, name))
        return found

    def need(self, ref: SystemRef) -> None:
        name = (ref.name or "").strip()
        if not name:
            raise RowRefused(ref.column, ref.name, "names no weapon system")
        if len(name) > 200:
            raise RowRefused(ref.column, name[:60], "is longer than 200 characters")
        if self.find(name) is None:
            self.pending.setdefault(self.key(name), ref)

    def create_pending(
        self, parties: PartyIndex, actor: Actor, keys: set[str] | None = None
    ) -> int:
        learned = [
            WeaponSystemAlias(
                system_id=pk, alias=text, kind=AliasKind.DATASET_SPELLING, alias_normalized=key
            )
            for key, (pk, text) in self.learned.items()
            if (keys is None or key in keys) and key not in self.taken_aliases
        ]
        if learned:
            self.taken_aliases.update(a.alias_normalized for a in learned)
            tracked_bulk_create(WeaponSystemAlias, learned, actor=actor)
            self.learned = {k: v for k, v in self.learned.items() if k not in self.taken_aliases}
        refs = [ref for key, ref in self.pending.items() if keys is None or key in keys]
        if not refs:
            return 0
        systems = []
        for ref in refs:
            details = dict(ref.details)
            origin_id = None
            origin = details.pop("origin", "") or ref.origin
            if origin:
                origin_id = parties.find(origin)
            systems.append(
                WeaponSystem(
                    name=ref.name.strip(),
                    description=(details.pop("description", "") or ref.description)[:300],
                    sipri_category=details.pop("sipri_category", "") or ref.sipri_category,
                    origin_id=origin_id,
                    catalogued=details.pop("catalogued", False),
                    **details,
                )
            )
        created = tracked_bulk_create(WeaponSystem, systems, actor=actor)
        aliases = []
        for ref, system in zip(refs, created, strict=True):
            self.by_name[system.name.lower()] = system.pk
            self.by_alias.setdefault(self.key(system.name), system.pk)
            wanted = ref.aliases or [(ref.name, AliasKind.DATASET_SPELLING)]
            for text, kind in wanted:
                key = _normalized(text)
                if key and key not in self.taken_aliases:
                    self.taken_aliases.add(key)
                    self.by_alias[key] = system.pk
                    aliases.append(
                        WeaponSystemAlias(
                            system=system, alias=text, kind=kind, alias_normalized=key
                        )
                    )
        tracked_bulk_create(WeaponSystemAlias, aliases, actor=actor)
        for ref in refs:
            self.pending.pop(self.key(ref.name), None)
        unresolved = [system for system in created if not system.catalogued]
        self.unresolved_created += len(unresolved)
        self.proposals_created += alias_proposals_propose(
            systems=unresolved, dataset=self.dataset, keys=self.catalogue, actor=actor
        )
        return len(created)

    def link_parents(self, parents: dict[str, str], actor: Actor) -> None:
        """Native format: set the family of systems created by this import."""
        changed = []
        for name, parent in parents.items():
            system_id, parent_id = self.find(name), self.find(parent)
            if system_id and parent_id and system_id != parent_id:
                changed.append(WeaponSystem(pk=system_id, parent_id=parent_id))
        if changed:
            objs = list(WeaponSystem.objects.filter(pk__in=[s.pk for s in changed]))
            wanted = {s.pk: s.parent_id for s in changed}
            objs = [o for o in objs if o.parent_id is None]
            for obj in objs:
                obj.parent_id = wanted[obj.pk]
            tracked_bulk_update(WeaponSystem, objs, ["parent"], actor=actor)
