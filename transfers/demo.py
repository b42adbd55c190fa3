"""The demo data set: the worked example of PRODUCT.md and a few well-known public facts
about ATACMS, Storm Shadow / SCALP-EG and HIMARS, every record cited.

Loading is idempotent: systems are matched by name, sources by canonical URL (or title),
records by their `external_id` ("demo:..."); a second load finds everything in place and
writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from inventory.models import Country, WeaponSystem
from inventory.selectors import country_resolve, weapon_system_resolve
from inventory.services import weapon_system_create
from transfers.models import (
    Authorization,
    Expenditure,
    Holding,
    PartyRole,
    Pledge,
    Policy,
    SystemFact,
    Transfer,
)
from transfers.services import (
    party_role_create,
    record_create,
    source_get_or_create,
    system_fact_create,
)

REPORT = {
    "url": "",
    "title": "US in talks with third countries over more ATACMS for Ukraine (news report, "
    "late November 2024, as quoted in Stockpile's PRODUCT.md)",
    "publisher": "News agency (worked example)",
    "source_type": "news",
    "reliability": "B",
    "published_at": dt.datetime(2024, 11, 27, tzinfo=dt.UTC),
    "notes": "The worked example of PRODUCT.md. Anonymous sourcing: 'people familiar with "
    "the discussions'. The brief quotes the report without its address.",
}
WIKI_ATACMS = {
    "url": "https://en.wikipedia.org/wiki/MGM-140_ATACMS",
    "title": "MGM-140 ATACMS",
    "publisher": "Wikipedia",
    "source_type": "other",
    "reliability": "C",
}
WIKI_STORM_SHADOW = {
    "url": "https://en.wikipedia.org/wiki/Storm_Shadow",
    "title": "Storm Shadow",
    "publisher": "Wikipedia",
    "source_type": "other",
    "reliability": "C",
}
WIKI_HIMARS = {
    "url": "https://en.wikipedia.org/wiki/M142_HIMARS",
    "title": "M142 HIMARS",
    "publisher": "Wikipedia",
    "source_type": "other",
    "reliability": "C",
}

SYSTEMS: list[dict[str, Any]] = [
    {
        "name": "ATACMS",
        "description": "Army Tactical Missile System, surface-to-surface ballistic missile",
        # manufacturer, origin and range: cited facts (FACTS below) set them
        "origin": "",
        "counting_unit": "missile",
        "unroca_category": "VII",
        "sipri_category": "missiles",
        "aliases": [("MGM-140", "designation"), ("Army Tactical Missile System", "name")],
    },
    {
        "name": "ATACMS Block I",
        "parent": "ATACMS",
        "description": "M39, cluster warhead",
        "manufacturer": "Lockheed Martin",
        "origin": "US",
        "range_km": 165,
        "counting_unit": "missile",
        "unroca_category": "VII",
        "sipri_category": "missiles",
        "aliases": [("M39", "designation"), ("MGM-140A", "designation")],
    },
    {
        "name": "ATACMS Block IA",
        "parent": "ATACMS",
        "description": "M39A1, cluster warhead, GPS-aided",
        "manufacturer": "Lockheed Martin",
        "origin": "US",
        "range_km": 300,
        "counting_unit": "missile",
        "unroca_category": "VII",
        "sipri_category": "missiles",
        "aliases": [("M39A1", "designation"), ("MGM-140B", "designation")],
    },
    {
        "name": "ATACMS Unitary",
        "parent": "ATACMS",
        "description": "M48/M57, unitary warhead",
        "manufacturer": "Lockheed Martin",
        "origin": "US",
        "range_km": 300,
        "counting_unit": "missile",
        "unroca_category": "VII",
        "sipri_category": "missiles",
        "aliases": [("M57", "designation"), ("M48", "designation"), ("MGM-168", "designation")],
    },
    {
        "name": "Storm Shadow",
        "description": "Air-launched cruise missile",
        "manufacturer": "MBDA",
        "origin": "GB",
        "range_km": 250,
        "counting_unit": "missile",
        "unroca_category": "VII",
        "sipri_category": "missiles",
        "aliases": [("SCALP-EG", "export_name"), ("Black Shaheen", "export_name")],
    },
    {
        "name": "M142 HIMARS",
        "description": "High Mobility Artillery Rocket System, wheeled multiple rocket launcher",
        "manufacturer": "Lockheed Martin",
        "origin": "US",
        "range_km": None,
        "counting_unit": "launcher",
        "unroca_category": "III",
        "sipri_category": "artillery",
        "aliases": [("HIMARS", "abbreviation"), ("M142", "designation")],
    },
]


@dataclass
class DemoRecord:
    key: str
    model: type
    fields: dict[str, Any]
    citations: list[dict[str, Any]] = field(default_factory=list)


def _cite(source: dict[str, Any], excerpt: str, **grade: Any) -> dict[str, Any]:
    locator = "" if source is REPORT else "Ukraine section (paraphrased)"
    return {"source": source, "excerpt": excerpt, "locator": locator, **grade}


def demo_records() -> list[DemoRecord]:
    anonymous = {"attribution": "anonymous", "credibility": 3}
    return [
        DemoRecord(
            "demo:atacms-third-country-pledge",
            Pledge,
            {
                "donor": None,
                "recipient": "UA",
                "system": "ATACMS",
                "quantity_text": "unknown",
                "status": "under_discussion",
                "date": dt.date(2024, 11, 1),
                "date_precision": "month",
            },
            [
                _cite(
                    REPORT,
                    "The US is talking to third countries about giving Ukraine more ATACMS or "
                    "variants; no donor has decided.",
                    **anonymous,
                ),
            ],
        ),
        DemoRecord(
            "demo:us-atacms-authorization",
            Authorization,
            {
                "grantor": "US",
                "holder": "UA",
                "system": "ATACMS",
                "kind": "permit",
                "scope": "Strikes with ATACMS into some parts of Russia",
                "date": dt.date(2024, 11, 1),
                "date_precision": "month",
            },
            [
                _cite(
                    REPORT,
                    "The White House authorized Kyiv to fire ATACMS into some parts of Russia.",
                    credibility=2,
                )
            ],
        ),
        DemoRecord(
            "demo:uk-storm-shadow-authorization",
            Authorization,
            {
                "grantor": "GB",
                "holder": "UA",
                "system": "Storm Shadow",
                "kind": "permit",
                "scope": "Strikes with Storm Shadow into Russia, following the US decision",
                "date": dt.date(2024, 11, 1),
                "date_precision": "month",
            },
            [_cite(REPORT, "The UK followed for Storm Shadow.", credibility=2)],
        ),
        DemoRecord(
            "demo:ua-atacms-launched-into-russia-2024-11",
            Expenditure,
            {
                "holder": "UA",
                "system": "ATACMS",
                "kind": "launched",
                "quantity_text": "unknown",
                "date": dt.date(2024, 11, 1),
                "date_precision": "month",
                "location": "Russia",
            },
            [_cite(REPORT, "Ukraine launched ATACMS into Russia in recent weeks.", credibility=2)],
        ),
        DemoRecord(
            "demo:ua-storm-shadow-launched-into-russia-2024-11",
            Expenditure,
            {
                "holder": "UA",
                "system": "Storm Shadow",
                "kind": "launched",
                "quantity_text": "unknown",
                "date": dt.date(2024, 11, 1),
                "date_precision": "month",
                "location": "Russia",
            },
            [
                _cite(
                    REPORT,
                    "Ukraine launched Storm Shadow into Russia in recent weeks.",
                    credibility=2,
                )
            ],
        ),
        DemoRecord(
            "demo:uk-storm-shadow-dozens-more",
            Transfer,
            {
                "donor": "GB",
                "recipient": "UA",
                "system": "Storm Shadow",
                "quantity_text": "dozens more",
                "basis": "pledge",
                "condition": "unknown",
                "date": dt.date(2024, 11, 1),
                "date_precision": "month",
                "notes": "Sent before the UK allowed their use inside Russia.",
            },
            [
                _cite(
                    REPORT,
                    "The UK sent dozens more Storm Shadows before allowing their use.",
                    **anonymous,
                )
            ],
        ),
        *[
            DemoRecord(
                f"demo:{code.lower()}-atacms-contracted",
                Holding,
                {
                    "holder": code,
                    "supplier": "US",
                    "system": "ATACMS",
                    "kind": "contracted",
                    "quantity_text": "unknown",
                    "date": dt.date(2024, 11, 1),
                    "date_precision": "month",
                },
                [
                    _cite(
                        REPORT,
                        "South Korea, Taiwan, Romania, Poland and the UAE have contracted ATACMS from the US.",
                        credibility=2,
                    )
                ],
            )
            for code in ("KR", "TW", "RO", "PL", "AE")
        ],
        DemoRecord(
            "demo:us-atacms-block-i-2023-10",
            Transfer,
            {
                "donor": "US",
                "recipient": "UA",
                "system": "ATACMS Block I",
                "quantity_text": "unknown",
                "basis": "pledge",
                "condition": "second_hand",
                "date": dt.date(2023, 10, 1),
                "date_precision": "month",
                "notes": "First ATACMS (M39) delivered secretly; first used on 17 October 2023.",
            },
            [
                _cite(
                    WIKI_ATACMS,
                    "Ukraine first used ATACMS (M39 variant) on 17 October 2023.",
                    credibility=1,
                    attribution="document",
                )
            ],
        ),
        DemoRecord(
            "demo:ua-atacms-block-i-launched-2023-10-17",
            Expenditure,
            {
                "holder": "UA",
                "system": "ATACMS Block I",
                "kind": "launched",
                "quantity_text": "unknown",
                "date": dt.date(2023, 10, 17),
                "date_precision": "day",
                "location": "Berdiansk and Luhansk airfields",
            },
            [
                _cite(
                    WIKI_ATACMS,
                    "On 17 October 2023 Ukraine struck airfields at Berdiansk and Luhansk with ATACMS.",
                    credibility=1,
                    attribution="document",
                )
            ],
        ),
        DemoRecord(
            "demo:uk-storm-shadow-first-2023-05",
            Transfer,
            {
                "donor": "GB",
                "recipient": "UA",
                "system": "Storm Shadow",
                "quantity_text": "unknown",
                "basis": "pledge",
                "condition": "unknown",
                "date": dt.date(2023, 5, 11),
                "date_precision": "day",
                "notes": "UK Defence Secretary announced on 11 May 2023 that Storm Shadow had been sent.",
            },
            [
                _cite(
                    WIKI_STORM_SHADOW,
                    "On 11 May 2023 the UK confirmed it had supplied Storm Shadow missiles to Ukraine.",
                    credibility=1,
                    attribution="named",
                )
            ],
        ),
        DemoRecord(
            "demo:fr-scalp-eg-pledge-2023-07",
            Pledge,
            {
                "donor": "FR",
                "recipient": "UA",
                "system": "Storm Shadow",
                "quantity_text": "unknown",
                "status": "announced",
                "date": dt.date(2023, 7, 11),
                "date_precision": "day",
                "notes": "France announced SCALP-EG for Ukraine at the NATO summit in Vilnius.",
            },
            [
                _cite(
                    WIKI_STORM_SHADOW,
                    "France announced on 11 July 2023 that it would supply SCALP-EG missiles to Ukraine.",
                    credibility=1,
                    attribution="named",
                )
            ],
        ),
        DemoRecord(
            "demo:us-himars-first-2022-06",
            Transfer,
            {
                "donor": "US",
                "recipient": "UA",
                "system": "M142 HIMARS",
                "quantity_text": "4",
                "basis": "pledge",
                "condition": "second_hand",
                "date": dt.date(2022, 6, 1),
                "date_precision": "month",
                "notes": "The first HIMARS launchers reached Ukraine in June 2022.",
            },
            [
                _cite(
                    WIKI_HIMARS,
                    "The first four HIMARS arrived in Ukraine in June 2022.",
                    credibility=2,
                    attribution="document",
                )
            ],
        ),
    ]


def demo_policies() -> list[DemoRecord]:
    return [
        DemoRecord(
            "demo:us-no-more-own-atacms",
            Policy,
            {
                "party": "US",
                "kind": "will_not_transfer",
                "system": "ATACMS",
                "include_variants": True,
                "recipient": "UA",
                "statement": "The US will not send more ATACMS of its own.",
                "date": dt.date(2024, 11, 1),
                "date_precision": "month",
            },
            [
                _cite(
                    REPORT,
                    "The US will not send more ATACMS of its own.",
                    attribution="anonymous",
                    credibility=3,
                )
            ],
        )
    ]


# Who else takes part in a demo pledge or transfer: (record key, party, role, citations).
ROLES: list[tuple[str, str, str, list[dict[str, Any]]]] = [
    (
        "demo:atacms-third-country-pledge",
        "US",
        "arranger",
        [
            _cite(
                REPORT,
                "The US is talking to third countries about giving Ukraine more ATACMS.",
                attribution="anonymous",
                credibility=3,
            )
        ],
    ),
]

# Cited facts about catalogue entries: (system, kind, fields, citations).
FACTS: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
    (
        "ATACMS",
        "manufacturer",
        {"manufacturer": "Lockheed Martin"},
        [_cite(REPORT, "Army Tactical Missile System, Lockheed Martin", credibility=2)],
    ),
    (
        "ATACMS",
        "range",
        {"wording": "up to 190 miles"},
        [_cite(REPORT, "range up to 190 miles / about 300 km", credibility=2)],
    ),
    (
        "ATACMS",
        "origin",
        {"origin": "US"},
        [_cite(WIKI_ATACMS, "The MGM-140 ATACMS is a US surface-to-surface missile.")],
    ),
]


def _resolve(model: type, fields: dict[str, Any]) -> dict[str, Any]:
    resolved = dict(fields)
    for name in ("donor", "recipient", "holder", "grantor", "supplier", "party", "origin"):
        if resolved.get(name):
            resolved[name] = Country.objects.get(code=resolved[name])
    if "system" in resolved:
        resolved["system"] = weapon_system_resolve(resolved["system"])
    return resolved


@transaction.atomic
def demo_load() -> dict[str, int]:
    """Load the demo set; returns counts of what was created this time."""
    created = {"systems": 0, "records": 0, "sources": 0, "roles": 0, "facts": 0}
    for spec in SYSTEMS:
        if WeaponSystem.objects.filter(name__iexact=spec["name"]).exists():
            continue
        fields = dict(spec)
        aliases = fields.pop("aliases")
        if fields.get("parent"):
            fields["parent"] = WeaponSystem.objects.get(name=fields["parent"])
        fields["origin"] = country_resolve(fields["origin"]) if fields["origin"] else None
        weapon_system_create(aliases=aliases, **fields)
        created["systems"] += 1
    for source in (REPORT, WIKI_ATACMS, WIKI_STORM_SHADOW, WIKI_HIMARS):
        _, was_created = source_get_or_create(**source)
        created["sources"] += was_created
    for record in [*demo_records(), *demo_policies()]:
        if record.model.objects.filter(external_id=record.key).exists():
            continue
        record_create(
            model=record.model,
            external_id=record.key,
            citations=record.citations,
            **_resolve(record.model, record.fields),
        )
        created["records"] += 1
    for key, party, role, citations in ROLES:
        movement = Pledge.objects.filter(external_id=key).first() or Transfer.objects.get(
            external_id=key
        )
        party = Country.objects.get(code=party)
        if not PartyRole.objects.filter(
            **{movement._meta.model_name: movement}, party=party, role=role
        ).exists():
            party_role_create(movement=movement, party=party, role=role, citations=citations)
            created["roles"] += 1
    for name, kind, fields, citations in FACTS:
        system = WeaponSystem.objects.get(name=name)
        fields = _resolve(SystemFact, fields)
        if not SystemFact.objects.filter(system=system, kind=kind, **fields).exists():
            system_fact_create(system=system, kind=kind, citations=citations, **fields)
            created["facts"] += 1
    return created
