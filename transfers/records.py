"""What a record type is: the one registry the admin, the API, the importers, the exporters,
the ledger and the reports read (ERPNext's doctype, NetBox's model registry, at our size).

Each sourced record type is named once here with its parties, its own fields and whether it
moves stock; the module-level tables elsewhere (`RECORD_PARTIES`, `LEDGER_MODELS`, the
exporters' and importers' field lists) are derived from it, so a new record type, or a new
field of one, is declared in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from transfers.models import (
    RECORD_FIELDS,
    Authorization,
    Expenditure,
    Holding,
    Pledge,
    Policy,
    Transfer,
)


@dataclass(frozen=True)
class RecordType:
    name: str  # the citation's field, the export's and the API's `record_type`
    model: type[models.Model]
    parties: tuple[str, ...]  # the party fields, in the order records show them
    fields: tuple[str, ...]  # the type's own fields, beyond system, quantity and date
    moves_stock: bool  # posts stock-ledger rows
    has_quantity: bool = True


# In write order: pledges before the transfers that fulfil them.
RECORD_TYPES: tuple[RecordType, ...] = (
    RecordType("holding", Holding, ("holder", "supplier"), ("kind",), moves_stock=True),
    RecordType("pledge", Pledge, ("donor", "recipient"), ("status",), moves_stock=True),
    RecordType(
        "transfer", Transfer, ("donor", "recipient"), ("basis", "condition"), moves_stock=True
    ),
    RecordType("expenditure", Expenditure, ("holder",), ("kind", "location"), moves_stock=True),
    RecordType(
        "authorization",
        Authorization,
        ("grantor", "holder"),
        ("kind", "scope", "valid_until"),
        moves_stock=False,
        has_quantity=False,
    ),
    RecordType(
        "policy",
        Policy,
        ("party", "recipient"),
        ("kind", "include_variants", "statement", "valid_until"),
        moves_stock=False,
        has_quantity=False,
    ),
)
assert tuple(t.name for t in RECORD_TYPES) == RECORD_FIELDS, "a citation field per record type"

BY_NAME: dict[str, RecordType] = {t.name: t for t in RECORD_TYPES}
BY_MODEL: dict[type[models.Model], RecordType] = {t.model: t for t in RECORD_TYPES}
RECORD_MODELS: tuple[type[models.Model], ...] = tuple(t.model for t in RECORD_TYPES)
LEDGER_MODELS: tuple[type[models.Model], ...] = tuple(
    t.model for t in RECORD_TYPES if t.moves_stock
)


# Claims about records and systems that carry citations like a record but are not records
# of their own (no system, date or quantity of their own): a party's role in a pledge or
# transfer, and a cited fact about a catalogue entry (docs/records.md).
CLAIM_FIELDS = ("party_role", "system_fact")


def record_type(model: type[models.Model]) -> RecordType:
    return BY_MODEL[model]
