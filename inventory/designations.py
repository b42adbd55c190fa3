"""Designations: what a dataset's name for a weapon system says, without the wording around it.

Datasets name one weapon in many ways: SIPRI writes "M-109A5 155mm" and "Leopard-2A4", Oryx
"155mm M109A5" and "Leopard 2A4", Kiel "M109 A3GM 155mm howitzer" and "Leopard-2A4". These
pure functions turn a name into keys that the catalogue compares (no database, no Django):

- `designation_text(name)`: the name without calibre, role words ("howitzer", "MBT", "IFV",
  "self-propelled", "cruise missile"), Oryx's count prefixes and plural "s", SIPRI's trailing
  " -" and party stars, and parentheses: "155mm M777A2 howitzer" -> "M777A2".
- `designation_key(name)`: that text in one comparable form (lower case, accents, spaces
  and hyphens dropped): "Leopard-2A4", "Leopard 2A4" and "leopard 2a4 MBT" -> "leopard2a4".
- `family_key(name)`: the key of the family the leading designation belongs to, its variant
  suffix removed: M777A2 -> "m777", Leopard 2A4 -> "leopard2", T-72M1 -> "t72", AS-90B ->
  "as90". A name without a variant suffix is its own family ("pzh2000").
- `alternative_keys(name)`: keys of the other designations a name carries, in parentheses
  or after a slash ("UFH/M-777 155mm" -> "ufh", "m777").

Equal designation keys are strong evidence of one system; equal family keys only suggest a
variant of one family (an editor confirms): see docs/catalogue.md.
"""

from __future__ import annotations

import re
import unicodedata

# Words that say what kind of thing a system is, not which one ("155mm M777A2 howitzer" is
# the M777A2). Longest phrases first; matched as whole words, case-insensitively. Words that
# change what is counted (battery, launcher, missile of an air-defence system, recovery
# vehicle, bridgelayer) are kept: a Patriot battery is not a Patriot launcher.
ROLE_PHRASES = (
    "self propelled artillery system",
    "self propelled howitzer",
    "self propelled artillery",
    "self propelled gun",
    "anti air missile defense system",
    "artillery system",
    "artillery howitzer",
    "towed howitzer",
    "pack howitzer",
    "howitzers",
    "howitzer",
    "multiple rocket launcher",
    "infantry fighting vehicle",
    "infantry vehicle",
    "main battle tank",
    "battle tank",
    "cruise missile",
    "weapon system",
    "air defence system",
    "air defense system",
    "towed gun",
    "mortar carrier",
    "modified",
    "overhauled",
    "upgraded",
    "systems",
    "system",
    "tanks",
    "tank",
    "mbt",
    "ifv",
)
_ROLE = re.compile(
    r"(?<![0-9a-z])(?:"
    + "|".join(r"[\s-]+".join(map(re.escape, p.split())) for p in ROLE_PHRASES)
    + r")(?![0-9a-z])",
    re.IGNORECASE,
)
_CALIBRE = re.compile(r"(?<![0-9A-Za-z])\d+(?:[.,]\d+)?\s?mm(?:/\d+(?:mm)?)?(?![0-9A-Za-z])", re.I)
_BARREL = re.compile(r"(?<![0-9A-Za-z/])\d{2,3}/\d{2}(?![0-9A-Za-z/])")  # "105/14"
_COUNT_PREFIX = re.compile(r"^\d+\s+(?=\S)")
_PARENS = re.compile(r"\(([^()]*)\)")
_PLURAL = re.compile(r"(?<=\d)s(?![0-9A-Za-z])")  # Oryx: "RCH-155s", "Zuzana 2s"
_LETTERS_DIGITS = re.compile(r"^([a-z]+\d+)[a-z]")  # the family part of a designation
_SUFFIX = re.compile(r"[a-z]{1,2}\d+[a-z]*")  # a variant suffix written apart: "A3GM"
_WHEELS = re.compile(r"\d+x\d+")  # "Caesar 6x6": a configuration, not a model number


def _fold(text: str) -> str:
    """Lower case without accents."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def _strip_decoration(name: str) -> str:
    text = (name or "").strip()
    text = text.replace("''", "'")
    text = text.rstrip("*").strip()
    text = re.sub(r"\s+-$", "", text)  # SIPRI 2026: "CAESAR 155mm -"
    text = _COUNT_PREFIX.sub("", text) if re.match(r"^\d+\s+\d+\s*mm", text) else text
    text = text.strip(" '\"")
    return text


def designation_text(name: str) -> str:
    """The designation a dataset's name carries, readable: see the module docstring."""
    text = _strip_decoration(name)
    text = _PARENS.sub(" ", text)
    text = _CALIBRE.sub(" ", text)
    text = _BARREL.sub(" ", text)
    text = _ROLE.sub(" ", text)
    text = _PLURAL.sub("", text)
    text = re.sub(r"[\s,;:]+", " ", text).strip(" -/'\"")
    return text or _strip_decoration(name)


def _compact(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", _fold(text))


def designation_key(name: str) -> str:
    """The comparable form of a name's designation ("" when it has no letters or digits)."""
    return _compact(designation_text(name))


def _leading_designation(text: str) -> str:
    """The first designation of a designation text, with a number that follows a word joined
    to it ("Leopard 2A4" -> "leopard2a4", "M-109 A3GM" -> "m109a3gm")."""
    words = [w for w in re.split(r"[\s]+", _fold(text)) if w]
    if not words:
        return ""
    first = _compact(words[0])
    rest = words[1:]
    if (
        rest
        and re.search(r"[a-z]$", first)
        and re.match(r"^\d", _compact(rest[0]))
        and not _WHEELS.fullmatch(rest[0])
    ):
        first += _compact(rest[0])  # "Leopard 2A4", "Challenger 2", "PzH 2000"
        rest = rest[1:]
    if rest and re.search(r"\d$", first) and _SUFFIX.fullmatch(rest[0]):
        first += rest[0]  # "M109 A3GM" ("M2A2 ODS", "2S1 Gvozdika" are not joined)
    return first


def family_key(name: str) -> str:
    """The key of the family a name's leading designation belongs to (itself when it has no
    variant suffix); "" when the name has no designation."""
    text = designation_text(name).split("/")[0]  # "UFH/M-777": the first name
    lead = _leading_designation(text)
    if not re.search(r"\d", lead):  # "Storm Shadow", "AHS Krab": no model number to cut
        return _compact(_WHEELS.sub(" ", text))
    match = _LETTERS_DIGITS.match(lead)
    return match.group(1) if match else lead


def alternative_keys(name: str) -> list[str]:
    """Designation keys of the other names a name carries: each part of a slash-separated
    designation and each parenthesis ("Storm Shadow/SCALP-EG", "(NASAMS)"); a part of at
    most three characters is a variant suffix and takes the family of the first
    ("M109A3/A4/L" -> "m109a4", "m109l").
    Without the name's own key."""
    text = _strip_decoration(name)
    own = designation_key(name)
    groups = [_PARENS.sub(" ", text), *_PARENS.findall(text)]
    keys: list[str] = []
    for group in groups:
        parts = [_compact(designation_text(part)) for part in group.split("/")]
        family = family_key(parts[0]) if parts and parts[0] else ""
        if len(parts) == 1 and group is groups[0]:
            continue  # the name itself
        for key in parts:
            if len(key) <= 3 and key[:1].isalpha() and re.search(r"\d", family):
                key = family + key
            if len(key) >= 3 and key != own and key not in keys and not key.isdigit():
                keys.append(key)
    return keys
