"""A small world for the explorer: Ukraine receives, loses and is promised a family of
systems from two donors, with cited and uncited records, estimates refreshed."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture(autouse=True)
def _empty_cache():
    """Pages are cached in the default cache (locmem in tests): each test starts without."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def build_world(scale: int = 1) -> dict:
    from inventory.models import WeaponSystem
    from stock.refresh import estimates_refresh_all
    from tests.factories import (
        AuthorizationFactory,
        CitationFactory,
        ExpenditureFactory,
        HoldingFactory,
        PledgeFactory,
        SourceFactory,
        TransferFactory,
        WeaponSystemAliasFactory,
        WeaponSystemFactory,
        state,
    )
    from transfers.choices import HoldingKind, PartyRoleKind, PledgeStatus, PolicyKind
    from transfers.services import party_role_create, policy_create

    family = WeaponSystemFactory(name="Skybolt", manufacturer="Example Works", range_km=300)
    variant = WeaponSystemFactory(name="Skybolt Block I", parent=family)
    WeaponSystemAliasFactory(system=family, alias="XGM-9", alias_normalized="xgm 9")
    ua, gb, us, pl = state("UA"), state("GB"), state("US"), state("PL")
    source = SourceFactory(title="Dozens more sent", notes="EDITOR-ONLY SOURCE NOTE")
    transfers = []
    for i in range(scale):
        sent = TransferFactory(
            donor=gb,
            recipient=ua,
            system=family,
            quantity_low=24,
            quantity_high=99,
            quantity_text="dozens",
            date=dt.date(2023 + i % 2, 5, 1),
            notes="EDITOR-ONLY RECORD NOTE",
        )
        CitationFactory(transfer=sent, source=source, excerpt="sent dozens more")
        transfers.append(sent)
        TransferFactory(donor=us, recipient=ua, system=variant, quantity_low=4, quantity_high=4)
        ExpenditureFactory(holder=ua, system=variant, quantity_low=2, quantity_high=2)
        pledge = PledgeFactory(
            donor=us,
            recipient=ua,
            system=family,
            quantity_low=10,
            quantity_high=10,
            status=PledgeStatus.PARTIALLY_DELIVERED,
            date=dt.date(2024, 1, 10),
        )
        TransferFactory(
            donor=us,
            recipient=ua,
            system=family,
            pledge=pledge,
            quantity_low=3,
            quantity_high=3,
            date=dt.date(2024, 3, 1),
        )
        HoldingFactory(holder=pl, system=family, kind=HoldingKind.CONTRACTED, supplier=us)
        party_role_create(movement=pledge, party=pl, role=PartyRoleKind.FINANCER)
    policy_create(
        party=us,
        kind=PolicyKind.WILL_NOT_TRANSFER,
        system=family,
        statement="No more Skybolts of our own",
        date=dt.date(2024, 2, 1),
    )
    AuthorizationFactory(grantor=us, holder=ua, system=family, date=dt.date(2024, 11, 17))
    estimates_refresh_all()
    family = WeaponSystem.objects.get(pk=family.pk)
    return {
        "ua": ua,
        "gb": gb,
        "us": us,
        "pl": pl,
        "family": family,
        "variant": variant,
        "source": source,
        "transfers": transfers,
    }


@pytest.fixture
def world(db):
    return build_world()
