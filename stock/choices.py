"""Codes stored in the database for the stock ledger and the estimates."""

from django.db import models


class LedgerKind(models.TextChoices):
    """What a stock-ledger row says about its holder's stock of a system."""

    BASELINE = "baseline", "Baseline (holding in inventory)"
    RECEIVED = "received", "Received (delivery in)"
    PRODUCED = "produced", "Produced"
    SENT = "sent", "Sent (delivery out)"
    EXPENDED = "expended", "Expended (used, lost, retired)"
    PLEDGED_IN = "pledged_in", "Pledged to the holder, not delivered"
    PLEDGED_OUT = "pledged_out", "Pledged by the holder, not delivered"
    ORDERED = "ordered", "Ordered (contracted)"


class EstimateScope(models.TextChoices):
    SYSTEM = "system", "This system"
    FAMILY = "family", "Family (the system and its variants)"


class MovementKind(models.TextChoices):
    """What kind of real movement several reports can describe (from their ledger rows)."""

    TRANSFER = "transfer", "Transfer (delivery)"
    PLEDGE = "pledge", "Pledge (not yet delivered)"
    ORDER = "order", "Order (contracted)"
    PRODUCTION = "production", "Production"
    EXPENDITURE = "expenditure", "Expenditure (used, lost, retired)"


class MatchStatus(models.TextChoices):
    """How a report came to be in its movement, or what an editor decided about a pair."""

    AUTO = "auto", "Accepted automatically (score above the threshold)"
    PENDING = "pending", "Waiting for review"
    CONFIRMED = "confirmed", "Confirmed by an editor"
    REJECTED = "rejected", "Rejected by an editor (never proposed again)"
