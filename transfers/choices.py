from django.db import models


class HoldingKind(models.TextChoices):
    IN_INVENTORY = "in_inventory", "In inventory"
    CONTRACTED = "contracted", "Contracted / ordered"
    PRODUCED = "produced", "Produced"


class PledgeStatus(models.TextChoices):
    UNDER_DISCUSSION = "under_discussion", "Under discussion"
    ANNOUNCED = "announced", "Announced"
    PARTIALLY_DELIVERED = "partially_delivered", "Partially delivered"
    DELIVERED = "delivered", "Delivered"
    WITHDRAWN = "withdrawn", "Withdrawn"


class TransferBasis(models.TextChoices):
    PLEDGE = "pledge", "Fulfils a pledge (aid)"
    CONTRACT = "contract", "Fulfils a contract (sale)"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Condition(models.TextChoices):
    NEW = "new", "New"
    SECOND_HAND = "second_hand", "Second-hand"
    UNKNOWN = "unknown", "Unknown"


class ExpenditureKind(models.TextChoices):
    LAUNCHED = "launched", "Launched / fired"
    DESTROYED = "destroyed", "Destroyed"
    DAMAGED = "damaged", "Damaged"
    ABANDONED = "abandoned", "Abandoned"
    CAPTURED = "captured", "Captured by the enemy"
    DECOMMISSIONED = "decommissioned", "Decommissioned / retired"


class AuthorizationKind(models.TextChoices):
    PERMIT = "permit", "Permits use"
    RESTRICT = "restrict", "Restricts use"


class SourceType(models.TextChoices):
    NEWS = "news", "News report"
    GOVERNMENT = "government", "Government statement or document"
    DATASET = "dataset", "Dataset"
    THINK_TANK = "think_tank", "Research / think tank"
    SOCIAL_MEDIA = "social_media", "Social media"
    IMAGERY = "imagery", "Photo or video evidence"
    OTHER = "other", "Other"


class Stance(models.TextChoices):
    SUPPORTS = "supports", "Supports"
    CONTRADICTS = "contradicts", "Contradicts"
    CONTEXT = "context", "Context only"


class Attribution(models.TextChoices):
    """How the source knows: anonymous sourcing is graded as such, never as fact."""

    NAMED = "named", "Named person or official"
    ANONYMOUS = "anonymous", "Anonymous sources"
    DOCUMENT = "document", "Official document"
    DATASET = "dataset", "Dataset entry"
    IMAGERY = "imagery", "Visual evidence"
    UNSTATED = "unstated", "Not stated"


class PartyRoleKind(models.TextChoices):
    """What a party does in a movement besides giving or receiving it (docs/records.md)."""

    ARRANGER = "arranger", "Arranges it (brokers, seeks donors)"
    FINANCER = "financer", "Finances it (pays)"
    REEXPORT_CONSENT = "reexport_consent", "Consents to the re-export"
    ORIGINAL_SUPPLIER = "original_supplier", "Original supplier (of a second-hand system)"
    INTERMEDIARY = "intermediary", "Passes it on (delivered via)"


class PolicyKind(models.TextChoices):
    """What a party states about transfers it will make or allow."""

    WILL_TRANSFER = "will_transfer", "Will transfer"
    WILL_NOT_TRANSFER = "will_not_transfer", "Will not transfer"
    WILL_ALLOW = "will_allow", "Will allow (re-export, transfer by others)"
    WILL_NOT_ALLOW = "will_not_allow", "Will not allow"
    PAUSE = "pause", "Pauses transfers"
    CONDITION = "condition", "Transfers only on a condition"


class SystemFactKind(models.TextChoices):
    """The catalogue facts about a system that carry citations."""

    MANUFACTURER = "manufacturer", "Manufacturer"
    ORIGIN = "origin", "Country of origin"
    RANGE = "range", "Range"
    COUNTING_UNIT = "counting_unit", "Counting unit"


class RangeUnit(models.TextChoices):
    KM = "km", "kilometres"
    MI = "mi", "miles"
    NMI = "nmi", "nautical miles"
