"""Synthetic files in each dataset format, of any size, for the benchmark (and the tests).

The rows are made up but shaped like the real exports: a few thousand designations, a
hundred parties (some non-state, some organizations, "unknown supplier(s)"), deals with
several delivery years, estimate flags, count prefixes, packed weapon lists.
"""

from __future__ import annotations

import random

from transfers.importers.sipri import HEADER_2026, HEADER_CLASSIC

PREAMBLE = [
    "Transfers of major conventional arms from All countries  to All countries . Deals with "
    "deliveries made for the year range '1995' to '2025'",
    "A '?' in a column indicates uncertain data.",
    "An empty field for 'Number ordered' indicates that data is not yet available.",
    "SIPRI trend-indicator values (TIVs) are in millions.",
    "An empty field for 'SIPRI TIV for total order' indicates that data is not available.",
    "A '0' for 'SIPRI TIV of delivered weapons' indicates a small volume.",
    "Figures may not add up to stated totals due to the conventions of rounding.",
    "For the method used see <https://www.sipri.org/databases/armstransfers/sources-and-methods>.",
    "",
    "Source: SIPRI Arms Transfers Database (c) SIPRI.",
    "Data generated: 12 Feb 2026 12:26:12 PM",
]
STATES = [
    "United States",
    "Germany",
    "France",
    "United Kingdom",
    "Russia",
    "China",
    "Italy",
    "Israel",
    "Spain",
    "South Korea",
    "Ukraine",
    "Poland",
    "Romania",
    "Taiwan",
    "UAE",
    "Netherlands",
    "Sweden",
    "Norway",
    "Turkiye",
    "Czechia",
    "India",
    "Pakistan",
    "Brazil",
    "Canada",
    "Australia",
    "Japan",
    "Egypt",
    "Saudi Arabia",
    "Qatar",
    "Greece",
    "Finland",
    "Denmark",
    "Belgium",
    "Austria",
    "Switzerland",
    "Portugal",
    "Hungary",
    "Bulgaria",
    "Slovakia",
    "Croatia",
    "Serbia",
    "Algeria",
    "Morocco",
    "Nigeria",
    "Kenya",
    "Indonesia",
    "Viet Nam",
    "Thailand",
    "Malaysia",
    "Singapore",
    "Philippines",
    "Mexico",
    "Chile",
    "Colombia",
    "Peru",
    "Argentina",
    "South Africa",
    "Iraq",
    "Jordan",
    "Oman",
    "Kuwait",
    "Cote d'Ivoire",
    "Bosnia-Herzegovina",
    "DR Congo",
]
OTHERS = [
    "NATO**",
    "African Union**",
    "Houthi rebels (Yemen)*",
    "Hezbollah (Lebanon)*",
    "Syria rebels*",
    "unknown rebel group*",
]
DESCRIPTIONS = [
    ("armoured personnel carrier", "Armoured vehicles"),
    ("tank", "Armoured vehicles"),
    ("portable SAM", "Missiles"),
    ("anti-tank missile", "Missiles"),
    ("transport helicopter", "Aircraft"),
    ("FGA aircraft", "Aircraft"),
    ("self-propelled gun", "Artillery"),
    ("vehicle engine", "Engines"),
    ("air-search radar", "Sensors"),
    ("SAM system", "Air-defence systems"),
]


def _designations(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    result = []
    for i in range(count):
        description, category = DESCRIPTIONS[i % len(DESCRIPTIONS)]
        result.append((f"SYN-{i:04d}{rng.choice('ABCDEFG')}", description, category))
    return result


def sipri_2026(rows: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    systems = _designations(rng, max(50, rows // 12))
    lines = [line + ";" for line in PREAMBLE]
    lines.append(",".join(HEADER_2026) + ";")
    deal, written = 10000, 0
    while written < rows:
        deal += 1
        supplier = rng.choice([*STATES, "unknown supplier(s)"])
        recipient = rng.choice([s for s in STATES + OTHERS if s != supplier])
        name, description, category = rng.choice(systems)
        order = rng.randint(1995, 2022)
        for year in range(order + 1, order + 1 + min(rng.randint(1, 4), rows - written)):
            est = rng.choice(["Yes", "No", ""])
            lines.append(
                f"{deal},{supplier},{recipient},{name},{description},{category},{order},"
                f"{rng.choice(['Yes', 'No'])},{rng.randint(1, 200)},{est},{min(year, 2025)},"
                f"{rng.choice(['Yes', 'No', ''])},{rng.choice(['New', 'Second hand'])},"
                f"0.5,0.2,3.2,No;"
            )
            written += 1
            if year >= 2025:
                break
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def sipri_classic(rows: int, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    systems = _designations(rng, max(50, rows // 6))
    lines = [*PREAMBLE, ",".join(HEADER_CLASSIC)]
    for i in range(rows):
        supplier = rng.choice([*STATES, "unknown supplier(s)"])
        recipient = rng.choice([s for s in STATES + OTHERS if s != supplier])
        name, description, _ = rng.choice(systems)
        ordered = rng.randint(1, 300)
        delivered = rng.randint(0, ordered)
        start = rng.randint(1960, 2022)
        years = (
            "; ".join(str(y) for y in range(start + 1, start + 1 + rng.randint(1, 3)))
            if delivered
            else ""
        )
        comment = f"Deal {i}; second-hand" if i % 3 else ""
        lines.append(
            f"{recipient},{supplier},{start},{rng.choice(['?', ''])},{ordered},"
            f"{rng.choice(['?', ''])},{name},{description},{delivered},{rng.choice(['?', ''])},"
            f"{years},{rng.choice(['New', 'Second hand'])},{comment},0.5,1.5,1.0"
        )
    return ("\n".join(lines) + "\n").encode("latin-1")


def oryx_supplied(rows: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    lines = [
        "id,vehicle_name,vehicle_type,supplier,supplier_abbr,recipient,recipient_abbr,"
        "count,is_delivered,is_soviet,proof,year_first_produced"
    ]
    for i in range(rows):
        supplier = rng.choice([*STATES[:30], "NONE"])
        if supplier == "Ukraine":
            supplier = "Poland"
        lines.append(
            f"{i},SYN-V{i % 3000:04d},Tanks,{supplier},XX,Ukraine,UA,{rng.choice([0, 1, 4, 20])},"
            f"{rng.choice(['True', 'True', 'False'])},False,https://i.postimg.cc/syn{i % (rows // 2 + 1)}/p.png,1980.0"
        )
    return ("\n".join(lines) + "\n").encode()


def oryx_losses(rows: int, seed: int = 4) -> bytes:
    rng = random.Random(seed)
    lines = ["country,origin,system,status,url,date_recorded,sysID,imageID,statusID,matID"]
    for i in range(rows):
        prefix = f"{rng.randint(1, 300)} " if rng.random() < 0.5 else ""
        lines.append(
            f"Ukraine,{rng.choice(STATES[:20])},{prefix}SYN-L{i % 2000:04d} howitzer,destroyed,"
            f"https://i.postimg.cc/loss{i}/x.jpg,2025-03-20,{i % 2000},{i},1,380-{i}"
        )
    return ("\n".join(lines) + "\n").encode()


def kiel(rows: int, seed: int = 5) -> bytes:
    rng = random.Random(seed)
    lines = ['"donor","category","number_of_weapons","monetary_value_eur","weapons_list"']
    for i in range(rows):
        donor = [s for s in STATES if s != "Ukraine"][i % 63]
        counts = [rng.randint(1, 60) for _ in range(rng.randint(1, 3))]
        packed = "; ".join(
            f"SYN-K{(i * 3 + j) % 5000:04d} (Mk {j}) ({c})" for j, c in enumerate(counts)
        )
        lines.append(
            f'"{donor}","Category {i}",{sum(counts)},{rng.randint(10**5, 10**9)},"{packed}"'
        )
    return ("\n".join(lines) + "\n").encode()


GENERATORS = {
    "sipri": sipri_2026,
    "sipri-classic": sipri_classic,
    "oryx-supplied": oryx_supplied,
    "oryx-losses": oryx_losses,
    "kiel": kiel,
}
