"""The parties every installation starts with: all ISO 3166-1 states (from pycountry) and the
parties real data names that are not states. Loaded by migration 0002 and by `parties_load`.
"""

from __future__ import annotations

import datetime as dt

import pycountry

from inventory.choices import PartyKind

# Names people and datasets use, where pycountry's is the formal one.
STATE_NAMES = {
    "RU": "Russia",
    "GB": "United Kingdom",
    "US": "United States",
    "CD": "DR Congo",
    "CG": "Congo",
    "BN": "Brunei",
    "PS": "Palestine",
    "VA": "Vatican City",
    "FM": "Micronesia",
    "TR": "Türkiye",
}

STATE_ALIASES = {
    "US": ["USA", "U.S.", "United States of America", "America"],
    "GB": ["UK", "U.K.", "Britain", "Great Britain"],
    "AE": ["UAE", "U.A.E.", "Emirates"],
    "CZ": ["Czech Republic", "Czech Rep."],
    "KR": ["Korea, South", "Republic of Korea", "ROK", "Korea"],
    "KP": ["Korea, North", "DPRK"],
    "TW": ["Republic of China", "ROC", "Chinese Taipei"],
    "RU": ["Russian Federation"],
    "MK": ["Macedonia", "FYROM"],
    "TR": ["Turkey", "Turkiye"],
    "NL": ["Holland", "The Netherlands"],
    "CI": ["Ivory Coast", "Cote d'Ivoire"],
    "CV": ["Cape Verde"],
    "SZ": ["Swaziland"],
    "MM": ["Burma"],
    "CD": ["Congo, Democratic Republic of the", "DRC", "Zaire"],
    "CG": ["Congo-Brazzaville", "Republic of the Congo"],
    "VN": ["Viet Nam"],
    "CN": ["PRC", "People's Republic of China"],
    "DE": ["FRG", "West Germany", "Federal Republic of Germany"],
}

# Parties that are not ISO 3166 states: (code, name, kind, aliases).
OTHER_PARTIES: list[tuple[str, str, str, list[str]]] = [
    (
        "XXU",
        "Unknown",
        PartyKind.UNKNOWN,
        ["unknown supplier(s)", "unknown supplier", "unknown recipient(s)", "unknown country"],
    ),
    ("NATO", "NATO", PartyKind.ORGANIZATION, ["North Atlantic Treaty Organization", "NATO**"]),
    ("EUN", "European Union", PartyKind.ORGANIZATION, ["EU**"]),
    ("UNO", "United Nations", PartyKind.ORGANIZATION, ["UN**"]),
    ("AFU", "African Union", PartyKind.ORGANIZATION, ["African Union**"]),
    ("SUN", "Soviet Union", PartyKind.HISTORICAL, ["USSR", "U.S.S.R."]),
    ("CSK", "Czechoslovakia", PartyKind.HISTORICAL, []),
    ("YUG", "Yugoslavia", PartyKind.HISTORICAL, []),
    ("DDR", "East Germany", PartyKind.HISTORICAL, ["German Democratic Republic", "GDR"]),
    ("HEZ", "Hezbollah", PartyKind.NON_STATE, ["Hezbollah (Lebanon)*", "Hizbollah"]),
    (
        "HOU",
        "Houthi rebels",
        PartyKind.NON_STATE,
        ["Houthi rebels (Yemen)*", "Ansar Allah", "Houthis"],
    ),
    # The SIPRI exports spell these two ways (the classic export "Libya HoR*", the 2026
    # export "HoR (Libya)*"): both spellings are aliases of one party.
    (
        "HOR",
        "Libya HoR",
        PartyKind.NON_STATE,
        [
            "HoR (Libya)*",
            "Libya HoR*",
            "HoR (Libya)",
            "House of Representatives (Libya)",
            "Libyan National Army",
        ],
    ),
    (
        "PIJ",
        "Palestinian Islamic Jihad",
        PartyKind.NON_STATE,
        [
            "PIJ (Israel/Palestine)*",
            "Palestinian Islamic Jihad (Israel/Palestine)*",
            "Islamic Jihad",
        ],
    ),
]


# The first and the last day historic parties existed: a record dated outside is a warning.
PARTY_LIFESPANS: dict[str, tuple[dt.date, dt.date]] = {
    "SUN": (dt.date(1922, 12, 30), dt.date(1991, 12, 26)),
    "DDR": (dt.date(1949, 10, 7), dt.date(1990, 10, 2)),
    "CSK": (dt.date(1918, 10, 28), dt.date(1992, 12, 31)),
    "YUG": (dt.date(1918, 12, 1), dt.date(1992, 4, 27)),
}


def party_rows() -> list[tuple[str, str, str, str, str, list[str]]]:
    """(code, alpha3, name, official name, kind, aliases) for every starting party."""
    rows = []
    for country in pycountry.countries:
        code = country.alpha_2
        common = getattr(country, "common_name", None)
        official = getattr(country, "official_name", "") or ""
        name = STATE_NAMES.get(code) or common or country.name
        aliases = {
            country.alpha_3,
            country.name,
            common or "",
            official,
            *STATE_ALIASES.get(code, []),
        }
        aliases.discard("")
        rows.append((code, country.alpha_3, name, official, PartyKind.STATE, sorted(aliases)))
    for code, name, kind, aliases in OTHER_PARTIES:
        rows.append((code, "", name, "", kind, aliases))
    return rows


def load_parties(country_model, alias_model, normalize) -> int:
    """Create the missing parties and aliases; returns how many parties were created.

    A party some of whose names already name another party (an import minted it before it
    was seeded) is not created again: its missing names become aliases of that party."""
    existing = set(country_model.objects.values_list("code", flat=True))
    taken = dict(alias_model.objects.values_list("alias_normalized", "country_id"))
    created = 0
    for code, alpha3, name, official, kind, aliases in party_rows():
        if code in existing:
            continue
        names = [name, code, *aliases]
        owner_id = next((taken[normalize(a)] for a in names if normalize(a) in taken), None)
        if owner_id is None:
            party = country_model.objects.filter(name__iexact=name).first()
            owner_id = party.pk if party is not None else None
        if owner_id is None:
            party = country_model.objects.create(
                code=code, iso_alpha3=alpha3, name=name, official_name=official, kind=kind
            )
            owner_id = party.pk
            created += 1
        for alias in names:
            key = normalize(alias)
            if key and key not in taken:
                alias_model.objects.create(country_id=owner_id, alias=alias, alias_normalized=key)
                taken[key] = owner_id
    return created


def apply_party_lifespans(country_model) -> int:
    """Set the lifespans of PARTY_LIFESPANS where they are not set; returns how many."""
    updated = 0
    for code, (start, end) in PARTY_LIFESPANS.items():
        updated += country_model.objects.filter(code=code, existed_until__isnull=True).update(
            existed_from=start, existed_until=end
        )
    return updated


def add_missing_aliases(country_model, alias_model, normalize) -> int:
    """Add the STATE_ALIASES an older installation lacks (ROK, DPRK, …); returns how many."""
    taken = set(alias_model.objects.values_list("alias_normalized", flat=True))
    added = 0
    for code, aliases in STATE_ALIASES.items():
        party = country_model.objects.filter(code=code).first()
        if party is None:
            continue
        for alias in aliases:
            key = normalize(alias)
            if key and key not in taken:
                alias_model.objects.create(country=party, alias=alias, alias_normalized=key)
                taken.add(key)
                added += 1
    return added
