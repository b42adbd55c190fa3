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
