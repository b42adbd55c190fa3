"""The sourced records (holdings, pledges, transfers, expenditures, authorizations) and
their evidence (sources and citations).

Models hold fields, constraints, clean() and small properties; every write goes through
`transfers.services`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import models
from w3lib.url import canonicalize_url

from core.history import tracked_history
from core.values import (
    DatedFields,
    QuantityFields,
    date_constraints,
    quantity_constraints,
)
from core.weblinks import validate_web_url
from inventory.choices import Credibility, Reliability
from inventory.models import Country, WeaponSystem
from transfers.choices import (
    Attribution,
    AuthorizationKind,
    Condition,
    ExpenditureKind,
    HoldingKind,
    PledgeStatus,
    SourceType,
    Stance,
    TransferBasis,
)

TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|smid)$")


def canonical_url(url: str) -> str:
    """One spelling per document: lower-case host, no fragment, no tracking parameters,
    sorted query, no default port, no trailing slash, https for http."""
    url = (url or "").strip()
    canonical = canonicalize_url(url)
    parts = urlsplit(canonical)
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not TRACKING_PARAMS.match(pair.split("=", 1)[0].lower())
    )
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    return urlunsplit((scheme, netloc, path, query, ""))


class Source(models.Model):
    """A document that evidence comes from: one row per canonical URL."""

    url = models.URLField(
        "URL",
        max_length=2000,
        blank=True,
        validators=[validate_web_url],
        help_text="Leave empty only for documents that have no address (print, a briefing).",
    )
    url_canonical = models.CharField("canonical URL", max_length=2000, editable=False, blank=True)
    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=200, blank=True)
    author = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retrieved_at = models.DateTimeField(null=True, blank=True)
    archive_url = models.URLField(
        "archive URL", max_length=2000, blank=True, validators=[validate_web_url]
    )
    content_sha256 = models.CharField(
        "SHA-256 of captured text",
        max_length=64,
        blank=True,
        help_text="Hex digest of the text as captured, to show later that it has not changed.",
    )
    source_type = models.CharField(
        max_length=20, choices=SourceType.choices, default=SourceType.NEWS
    )
    reliability = models.CharField(
        "default reliability",
        max_length=1,
        choices=Reliability.choices,
        default=Reliability.F,
        help_text="Admiralty source reliability; a citation may grade differently.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()

    class Meta:
        ordering = ["-published_at", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["url_canonical"],
                condition=~models.Q(url_canonical=""),
                name="source_url_canonical_unique",
                violation_error_message="A source with this canonical URL already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(content_sha256="")
                | models.Q(content_sha256__regex=r"^[0-9a-f]{64}$"),
                name="source_sha256_hex",
                violation_error_message="The SHA-256 must be 64 lower-case hex digits.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        self.url_canonical = canonical_url(self.url) if self.url else ""
        self.content_sha256 = (self.content_sha256 or "").strip().lower()
        if self.content_sha256 and not re.fullmatch(r"[0-9a-f]{64}", self.content_sha256):
            raise ValidationError(
                {"content_sha256": f"{self.content_sha256!r} is not a SHA-256 hex digest."}
            )
        if (
            self.url
            and Source.objects.filter(url_canonical=self.url_canonical).exclude(pk=self.pk).exists()
        ):
            raise ValidationError(
                {"url": f"{self.url!r} is already a source (canonical URL {self.url_canonical})."}
            )

    def validate_constraints(self, exclude=None) -> None:
        # The canonical URL is checked in clean() with a message naming the URL.
        super().validate_constraints(exclude={*(exclude or ()), "url_canonical"})


class SourcedRecord(QuantityFields, DatedFields):
    """Fields every sourced record shares. `external_id` keys rows that came from a dataset
    (e.g. "sipri:67673:2024") so re-imports update instead of duplicating."""

    system = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True, help_text="Context, caveats, policy statements.")
    external_id = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Key of the row in the dataset it was imported from; blank when entered by hand.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for check in (self.clean_quantity, self.clean_date, *self.record_checks()):
            try:
                check()
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    def record_checks(self) -> list:
        """Further checks of a record type, each raising ValidationError; all are reported."""
        return []


def _record_constraints(model: str, *parties: tuple[str, str]) -> list[models.BaseConstraint]:
    """The constraints every record table carries, named after the table."""
    constraints: list[models.BaseConstraint] = [
        *quantity_constraints(model),
        *date_constraints(model),
        models.UniqueConstraint(
            fields=["external_id"],
            condition=~models.Q(external_id=""),
            name=f"{model}_external_id_unique",
            violation_error_message="A record with this external id already exists.",
        ),
    ]
    for left, right in parties:
        constraints.append(
            models.CheckConstraint(
                condition=~models.Q(**{left: models.F(right)}),
                name=f"{model}_{left}_not_{right}",
                violation_error_message=f"The {left} and the {right} must differ.",
            )
        )
    return constraints


def _parties_differ(record, left: str, right: str) -> None:
    left_id, right_id = getattr(record, f"{left}_id"), getattr(record, f"{right}_id")
    if left_id is not None and left_id == right_id:
        raise ValidationError(
            {right: f"The {right} ({getattr(record, right)}) cannot also be the {left}."}
        )


class Holding(SourcedRecord):
    """A holder has, has ordered, or has produced some quantity of a system as of a date."""

    holder = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="holdings")
    kind = models.CharField(
        max_length=20, choices=HoldingKind.choices, default=HoldingKind.IN_INVENTORY
    )
    supplier = models.ForeignKey(
        Country,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For contracted holdings: who the order was placed with.",
    )

    history = tracked_history()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = _record_constraints("holding", ("holder", "supplier"))

    def __str__(self) -> str:
        return f"{self.holder} {self.get_kind_display().lower()}: {self.system} ({self.quantity_display})"

    def record_checks(self) -> list:
        return [lambda: _parties_differ(self, "holder", "supplier")]


class Pledge(SourcedRecord):
    """A donor (possibly undisclosed) promises a recipient some quantity of a system."""

    donor = models.ForeignKey(
        Country,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pledges_made",
        help_text="Leave empty when the donor is undisclosed.",
    )
    recipient = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="pledges_received"
    )
    status = models.CharField(
        max_length=24, choices=PledgeStatus.choices, default=PledgeStatus.ANNOUNCED
    )

    history = tracked_history()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = _record_constraints("pledge", ("donor", "recipient"))

    def __str__(self) -> str:
        return f"{self.donor_display} → {self.recipient}: {self.system} ({self.quantity_display})"

    @property
    def donor_display(self) -> str:
        return str(self.donor) if self.donor_id else "Undisclosed donor"

    def record_checks(self) -> list:
        return [lambda: _parties_differ(self, "donor", "recipient")]


class Transfer(SourcedRecord):
    """A delivery: units of a system went from a donor to a recipient."""

    donor = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="transfers_sent")
    recipient = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="transfers_received"
    )
    basis = models.CharField(
        max_length=10, choices=TransferBasis.choices, default=TransferBasis.UNKNOWN
    )
    pledge = models.ForeignKey(
        Pledge,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        help_text="The pledge this delivery fulfils, if any.",
    )
    condition = models.CharField(
        max_length=12, choices=Condition.choices, default=Condition.UNKNOWN
    )

    history = tracked_history()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = _record_constraints("transfer", ("donor", "recipient"))

    def __str__(self) -> str:
        return f"{self.donor} → {self.recipient}: {self.system} ({self.quantity_display})"

    def record_checks(self) -> list:
        return [lambda: _parties_differ(self, "donor", "recipient"), self._check_pledge]

    def _check_pledge(self) -> None:
        if self.pledge_id is not None:
            pledge = self.pledge
            if self.recipient_id is not None and pledge.recipient_id != self.recipient_id:
                raise ValidationError(
                    {
                        "pledge": f"Pledge #{pledge.pk} was made to {pledge.recipient}, "
                        f"not to {self.recipient}."
                    }
                )
            if (
                pledge.donor_id is not None
                and self.donor_id is not None
                and (pledge.donor_id != self.donor_id)
            ):
                raise ValidationError(
                    {
                        "pledge": f"Pledge #{pledge.pk} was made by {pledge.donor}, not by {self.donor}."
                    }
                )
            if self.basis == TransferBasis.UNKNOWN:
                self.basis = TransferBasis.PLEDGE


class Expenditure(SourcedRecord):
    """A holder used, lost or retired units of a system."""

    holder = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="expenditures")
    kind = models.CharField(max_length=20, choices=ExpenditureKind.choices)
    location = models.CharField(max_length=200, blank=True, help_text="Where, if known.")

    history = tracked_history()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = _record_constraints("expenditure")

    def __str__(self) -> str:
        return f"{self.holder} {self.get_kind_display().lower()}: {self.system} ({self.quantity_display})"


class Authorization(DatedFields):
    """A grantor permits or restricts a holder's use of a system (end-use permission)."""

    grantor = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="authorizations_granted"
    )
    holder = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="authorizations_held"
    )
    system = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        max_length=10, choices=AuthorizationKind.choices, default=AuthorizationKind.PERMIT
    )
    scope = models.TextField(
        help_text='What is permitted or restricted ("strikes into parts of Russia").'
    )
    valid_until = models.DateField(null=True, blank=True, help_text="Empty: open-ended.")
    notes = models.TextField(blank=True)
    external_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            *date_constraints("authorization"),
            models.CheckConstraint(
                condition=~models.Q(grantor=models.F("holder")),
                name="authorization_grantor_not_holder",
                violation_error_message="The grantor and the holder must differ.",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(date__isnull=True)
                | models.Q(valid_until__gte=models.F("date")),
                name="authorization_valid_until_after_date",
                violation_error_message="An authorization cannot end before it starts.",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="authorization_external_id_unique",
                violation_error_message="A record with this external id already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grantor} {self.get_kind_display().lower()} {self.holder}: {self.system}"

    def clean(self) -> None:
        self.clean_date()
        _parties_differ(self, "grantor", "holder")
        if self.valid_until and self.date and self.valid_until < self.date:
            raise ValidationError(
                {"valid_until": f"The end ({self.valid_until}) is before the start ({self.date})."}
            )


RECORD_MODELS: tuple[type[models.Model], ...] = (
    Holding,
    Pledge,
    Transfer,
    Expenditure,
    Authorization,
)
RECORD_FIELDS = ("holding", "pledge", "transfer", "expenditure", "authorization")


class Citation(models.Model):
    """Ties a source to exactly one record, with the quoted words and a grade."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="citations")
    holding = models.ForeignKey(
        Holding, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
    )
    pledge = models.ForeignKey(
        Pledge, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
    )
    transfer = models.ForeignKey(
        Transfer, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
    )
    expenditure = models.ForeignKey(
        Expenditure, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
    )
    authorization = models.ForeignKey(
        Authorization, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
    )
    excerpt = models.TextField(blank=True, help_text="The quoted words that support the record.")
    locator = models.CharField(
        max_length=200, blank=True, help_text="Page, paragraph, row or timestamp."
    )
    stance = models.CharField(max_length=12, choices=Stance.choices, default=Stance.SUPPORTS)
    attribution = models.CharField(
        max_length=12, choices=Attribution.choices, default=Attribution.UNSTATED
    )
    reliability = models.CharField(
        max_length=1,
        choices=Reliability.choices,
        blank=True,
        help_text="Admiralty source reliability for this claim; empty: the source's default.",
    )
    credibility = models.PositiveSmallIntegerField(
        choices=Credibility.choices,
        default=Credibility.UNJUDGED,
        help_text="Admiralty information credibility, 1 (confirmed) to 6 (cannot be judged).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = tracked_history()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        holding__isnull=False,
                        pledge__isnull=True,
                        transfer__isnull=True,
                        expenditure__isnull=True,
                        authorization__isnull=True,
                    )
                    | models.Q(
                        holding__isnull=True,
                        pledge__isnull=False,
                        transfer__isnull=True,
                        expenditure__isnull=True,
                        authorization__isnull=True,
                    )
                    | models.Q(
                        holding__isnull=True,
                        pledge__isnull=True,
                        transfer__isnull=False,
                        expenditure__isnull=True,
                        authorization__isnull=True,
                    )
                    | models.Q(
                        holding__isnull=True,
                        pledge__isnull=True,
                        transfer__isnull=True,
                        expenditure__isnull=False,
                        authorization__isnull=True,
                    )
                    | models.Q(
                        holding__isnull=True,
                        pledge__isnull=True,
                        transfer__isnull=True,
                        expenditure__isnull=True,
                        authorization__isnull=False,
                    )
                ),
                name="citation_exactly_one_record",
                violation_error_message="A citation must support exactly one record.",
            ),
            models.CheckConstraint(
                condition=models.Q(credibility__gte=1, credibility__lte=6),
                name="citation_credibility_1_to_6",
                violation_error_message="Credibility must be between 1 and 6.",
            ),
            models.CheckConstraint(
                condition=models.Q(reliability__in=["", "A", "B", "C", "D", "E", "F"]),
                name="citation_reliability_a_to_f",
                violation_error_message="Reliability must be a letter from A to F.",
            ),
            models.CheckConstraint(
                condition=~models.Q(
                    attribution=Attribution.ANONYMOUS, credibility=Credibility.CONFIRMED
                ),
                name="citation_anonymous_not_confirmed",
                violation_error_message="A claim from anonymous sources cannot be graded as confirmed.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.record}"

    @property
    def record(self) -> models.Model | None:
        for field in RECORD_FIELDS:
            if getattr(self, f"{field}_id") is not None:
                return getattr(self, field)
        return None

    @property
    def effective_reliability(self) -> str:
        return self.reliability or (self.source.reliability if self.source_id else Reliability.F)

    @property
    def grade(self) -> str:
        """The Admiralty grade as analysts write it: B2, F6."""
        return f"{self.effective_reliability}{self.credibility}"

    def clean(self) -> None:
        linked = [field for field in RECORD_FIELDS if getattr(self, f"{field}_id") is not None]
        if len(linked) > 1:
            raise ValidationError(
                f"A citation supports one record, not {len(linked)} ({', '.join(linked)})."
            )
        if self.attribution == Attribution.ANONYMOUS and self.credibility == Credibility.CONFIRMED:
            raise ValidationError(
                {
                    "credibility": "Anonymous sourcing cannot be graded 1 (confirmed); "
                    "use 2 (probably true) or lower."
                }
            )
