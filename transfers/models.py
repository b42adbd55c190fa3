"""The sourced records (holdings, pledges, transfers, expenditures, authorizations) and
their evidence (sources and citations).

Models hold fields, constraints, clean() and small properties; every write goes through
`transfers.services`.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import models
from w3lib.url import canonicalize_url

from core.choices import DatePrecision
from core.history import tracked_history
from core.values import (
    DatedFields,
    QuantityFields,
    date_constraints,
    format_date,
    normalize_date,
    quantity_constraints,
)
from core.weblinks import validate_web_url
from inventory.choices import CountingUnit, Credibility, Reliability
from inventory.models import Country, WeaponSystem
from transfers.choices import (
    Attribution,
    AuthorizationKind,
    Condition,
    ExpenditureKind,
    HoldingKind,
    PartyRoleKind,
    PledgeStatus,
    PolicyKind,
    RangeUnit,
    SourceType,
    Stance,
    SystemFactKind,
    TransferBasis,
)
from transfers.ranges import range_in_km, range_parse

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
    published_on = models.DateField(
        "published",
        null=True,
        blank=True,
        help_text="The day, month or year of publication (a time, if known, goes below).",
    )
    published_precision = models.CharField(
        "precision",
        max_length=12,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        blank=True,
        help_text="Empty: as typed (2024-11-27 a day, 2024-11 a month, 2024 a year).",
    )
    published_at = models.DateTimeField(
        "published at (time)",
        null=True,
        blank=True,
        help_text="Only when the exact time is known; the date alone goes above.",
    )
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
        ordering = ["-published_on", "-published_at", "title"]
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

    @property
    def published_display(self) -> str:
        if self.published_on is None and self.published_at is None:
            return "–"
        if self.published_on is None:
            return self.published_at.date().isoformat()
        return format_date(self.published_on, self.published_precision)

    def clean(self) -> None:
        self.published_precision = self.published_precision or DatePrecision.DAY
        if self.published_at is not None and self.published_on is None:
            # A time known to the minute gives the day (UTC) too.
            self.published_on = self.published_at.astimezone(dt.UTC).date()
            self.published_precision = DatePrecision.DAY
        if self.published_on is None:
            self.published_precision = DatePrecision.DAY
        elif self.published_precision == DatePrecision.UNKNOWN:
            raise ValidationError(
                {
                    "published_precision": f"The precision is 'unknown' but a date "
                    f"({self.published_on}) is given."
                }
            )
        else:
            self.published_on, self.published_precision = normalize_date(
                self.published_on, self.published_precision, "published_on"
            )
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


def _external_id_unique(model: str) -> models.UniqueConstraint:
    """An external id (a dataset's key) names one record of a table, when there is one."""
    return models.UniqueConstraint(
        fields=["external_id"],
        condition=~models.Q(external_id=""),
        name=f"{model}_external_id_unique",
        violation_error_message="A record with this external id already exists.",
    )


def _valid_until_after_date(model: str, noun: str) -> models.CheckConstraint:
    """A statement in force from `date` until `valid_until` cannot end before it starts."""
    return models.CheckConstraint(
        condition=models.Q(valid_until__isnull=True)
        | models.Q(date__isnull=True)
        | models.Q(valid_until__gte=models.F("date")),
        name=f"{model}_valid_until_after_date",
        violation_error_message=f"{noun} cannot end before it starts.",
    )


def _newest_first_index(model: str) -> models.Index:
    """The index of a record list's order (newest first: `-date, -id`, read backwards), so a
    page of a million records reads its rows, not a sort of the table."""
    return models.Index(fields=["date", "id"], name=f"{model}_date_id_idx")


def _record_constraints(model: str, *parties: tuple[str, str]) -> list[models.BaseConstraint]:
    """The constraints every record table carries, named after the table."""
    constraints: list[models.BaseConstraint] = [
        *quantity_constraints(model),
        *date_constraints(model),
        _external_id_unique(model),
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
        indexes = [_newest_first_index("holding")]
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
        indexes = [_newest_first_index("pledge")]
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
        indexes = [_newest_first_index("transfer")]
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
        indexes = [_newest_first_index("expenditure")]
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
        indexes = [_newest_first_index("authorization")]
        constraints = [
            *date_constraints("authorization"),
            models.CheckConstraint(
                condition=~models.Q(grantor=models.F("holder")),
                name="authorization_grantor_not_holder",
                violation_error_message="The grantor and the holder must differ.",
            ),
            _valid_until_after_date("authorization", "An authorization"),
            _external_id_unique("authorization"),
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


class Policy(DatedFields):
    """A party states what it will or will not transfer (or allow others to transfer), of
    a system (and its variants) to a recipient (or to anyone), from a date."""

    party = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="The party that states the policy.",
    )
    kind = models.CharField(max_length=20, choices=PolicyKind.choices)
    system = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="+")
    include_variants = models.BooleanField(
        "and its variants",
        default=True,
        help_text="The policy covers the system's variants too (ATACMS: Block I, Block IA, …).",
    )
    recipient = models.ForeignKey(
        Country,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies_about",
        help_text="Empty: the policy is about any recipient.",
    )
    statement = models.TextField(
        help_text='What the party states, in its words ("will not send more of its own").'
    )
    valid_until = models.DateField(null=True, blank=True, help_text="Empty: open-ended.")
    notes = models.TextField(blank=True)
    external_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["-date", "-id"]
        indexes = [_newest_first_index("policy")]
        constraints = [
            *date_constraints("policy"),
            models.CheckConstraint(
                condition=~models.Q(party=models.F("recipient")),
                name="policy_party_not_recipient",
                violation_error_message="The party and the recipient must differ.",
            ),
            _valid_until_after_date("policy", "A policy"),
            _external_id_unique("policy"),
        ]

    def __str__(self) -> str:
        to = f" to {self.recipient}" if self.recipient_id else ""
        return f"{self.party}: {self.get_kind_display().lower()} {self.system}{to}"

    def clean(self) -> None:
        self.clean_date()
        _parties_differ(self, "party", "recipient")
        self.statement = (self.statement or "").strip()
        if not self.statement:
            raise ValidationError({"statement": "Say what the party stated (got nothing)."})
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
    Policy,
)
RECORD_FIELDS = ("holding", "pledge", "transfer", "expenditure", "authorization", "policy")
# The records a party role belongs to: the movements (docs/records.md).
MOVEMENT_FIELDS = ("pledge", "transfer")


class PartyRole(models.Model):
    """A party's part in a pledge or a transfer besides donor and recipient: it arranges,
    finances, consents to the re-export of, or passes on the movement, or it first
    supplied the second-hand system. Cited like any record."""

    pledge = models.ForeignKey(
        Pledge, null=True, blank=True, on_delete=models.CASCADE, related_name="roles"
    )
    transfer = models.ForeignKey(
        Transfer, null=True, blank=True, on_delete=models.CASCADE, related_name="roles"
    )
    party = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="movement_roles")
    role = models.CharField(max_length=20, choices=PartyRoleKind.choices)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()

    class Meta:
        verbose_name = "party role"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pledge__isnull=False, transfer__isnull=True)
                | models.Q(pledge__isnull=True, transfer__isnull=False),
                name="partyrole_exactly_one_movement",
                violation_error_message="A party role belongs to exactly one pledge or transfer.",
            ),
            models.UniqueConstraint(
                fields=["pledge", "party", "role"],
                condition=models.Q(pledge__isnull=False),
                name="partyrole_pledge_party_role_unique",
                violation_error_message="This party already has this role in this pledge.",
            ),
            models.UniqueConstraint(
                fields=["transfer", "party", "role"],
                condition=models.Q(transfer__isnull=False),
                name="partyrole_transfer_party_role_unique",
                violation_error_message="This party already has this role in this transfer.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party}: {self.get_role_display().lower()} — {self.movement}"

    def _linked(self) -> list[str]:
        """The movement fields set (an admin inline sets its unsaved parent: no id yet)."""
        return [
            name
            for name in MOVEMENT_FIELDS
            if getattr(self, f"{name}_id") is not None
            or self._state.fields_cache.get(name) is not None
        ]

    @property
    def movement(self) -> models.Model | None:
        linked = self._linked()
        return getattr(self, linked[0]) if linked else None

    def clean(self) -> None:
        linked = self._linked()
        if len(linked) != 1:
            raise ValidationError(
                "A party role belongs to exactly one pledge or transfer "
                f"(got {len(linked)}: {', '.join(linked) or 'none'})."
            )
        movement = self.movement
        if self.party_id is None:
            return
        for side in ("donor", "recipient"):
            if getattr(movement, f"{side}_id") == self.party_id:
                raise ValidationError(
                    {
                        "party": f"{self.party} is already the {side} of {movement}: a role "
                        "names a third party."
                    }
                )


class SystemFact(models.Model):
    """A cited fact about a catalogue entry: its manufacturer, country of origin, range or
    counting unit. Range is entered in km, miles or nautical miles, and its original
    wording is kept; `range_km` is derived."""

    system = models.ForeignKey(WeaponSystem, on_delete=models.PROTECT, related_name="facts")
    kind = models.CharField(max_length=20, choices=SystemFactKind.choices)
    manufacturer = models.CharField(max_length=200, blank=True)
    origin = models.ForeignKey(
        Country, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    range_value = models.DecimalField(
        "range", max_digits=9, decimal_places=1, null=True, blank=True
    )
    range_unit = models.CharField(max_length=3, choices=RangeUnit.choices, blank=True)
    range_km = models.DecimalField(
        "range (km)", max_digits=8, decimal_places=1, null=True, blank=True, editable=False
    )
    counting_unit = models.CharField(max_length=20, choices=CountingUnit.choices, blank=True)
    wording = models.CharField(
        max_length=300,
        blank=True,
        help_text='The words of the source ("up to 190 miles"); a range may be typed here '
        "alone: its number and unit are read from it.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history()

    class Meta:
        verbose_name = "system fact"
        ordering = ["system__name", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind=SystemFactKind.MANUFACTURER, manufacturer__gt="")
                | models.Q(kind=SystemFactKind.ORIGIN, origin__isnull=False)
                | models.Q(kind=SystemFactKind.RANGE, range_value__gte=0, range_km__isnull=False)
                | models.Q(kind=SystemFactKind.COUNTING_UNIT, counting_unit__gt=""),
                name="systemfact_value_matches_kind",
                violation_error_message="A fact carries the value of its kind.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system}: {self.get_kind_display().lower()} {self.value_display}"

    @property
    def value_display(self) -> str:
        if self.kind == SystemFactKind.MANUFACTURER:
            return self.manufacturer
        if self.kind == SystemFactKind.ORIGIN:
            # the name, not str(): the API's row path gives a lightweight row, not a Country
            return self.origin.name if self.origin_id else ""
        if self.kind == SystemFactKind.COUNTING_UNIT:
            return self.get_counting_unit_display()
        if self.range_value is None:
            return ""
        shown = f"{self.range_value.normalize():f} {self.range_unit}"
        if self.range_unit != RangeUnit.KM:
            shown += f" ({self.range_km.normalize():f} km)"
        return shown

    # The catalogue field each kind of fact sets, and its value.
    CATALOGUE_FIELD = {
        SystemFactKind.MANUFACTURER: "manufacturer",
        SystemFactKind.ORIGIN: "origin",
        SystemFactKind.RANGE: "range_km",
        SystemFactKind.COUNTING_UNIT: "counting_unit",
    }

    @property
    def catalogue_value(self):
        return getattr(self, self.CATALOGUE_FIELD[self.kind])

    def clean(self) -> None:
        self.manufacturer = (self.manufacturer or "").strip()
        self.wording = (self.wording or "").strip()
        if self.kind not in SystemFactKind.values:
            raise ValidationError({"kind": f"{self.kind!r} is not a kind of fact."})
        own = {
            SystemFactKind.MANUFACTURER: {"manufacturer"},
            SystemFactKind.ORIGIN: {"origin"},
            SystemFactKind.RANGE: {"range_value", "range_unit"},
            SystemFactKind.COUNTING_UNIT: {"counting_unit"},
        }[self.kind]
        given = {
            "manufacturer": self.manufacturer,
            "origin": self.origin_id,
            "range_value": self.range_value,
            "range_unit": self.range_unit,
            "counting_unit": self.counting_unit,
        }
        stray = {name: value for name, value in given.items() if name not in own and value}
        if stray:
            raise ValidationError(
                {
                    name: f"A {self.get_kind_display().lower()} fact has no {name} (got {value!r})."
                    for name, value in stray.items()
                }
            )
        if self.kind == SystemFactKind.RANGE:
            self._clean_range()
        else:
            self.range_km = None
            missing = next(iter(own))
            if not given[missing]:
                raise ValidationError(
                    {missing: f"A {self.get_kind_display().lower()} fact needs its {missing}."}
                )

    def _clean_range(self) -> None:
        if self.range_value is None and not self.range_unit and self.wording:
            parsed = range_parse(self.wording)
            if parsed is None:
                raise ValidationError(
                    {
                        "wording": f"{self.wording!r} names no range in km, miles or nautical "
                        "miles: give the range and its unit."
                    }
                )
            self.range_value, self.range_unit = parsed
        if self.range_value is None:
            raise ValidationError({"range_value": "A range fact needs its range (or wording)."})
        if self.range_value < 0:
            raise ValidationError(
                {"range_value": f"A range cannot be negative (got {self.range_value})."}
            )
        if self.range_unit not in RangeUnit.values:
            raise ValidationError(
                {
                    "range_unit": f"{self.range_unit!r} is not a unit of range "
                    f"({', '.join(RangeUnit.values)})."
                }
            )
        self.range_km = range_in_km(self.range_value, self.range_unit)


# Everything a citation can support: the record types, then the claims about them.
CITED_FIELDS = (*RECORD_FIELDS, "party_role", "system_fact")


def _exactly_one(fields: tuple[str, ...]) -> models.Q:
    """Exactly one of these foreign keys is set."""
    alternatives = [
        models.Q(**{f"{name}__isnull": name != chosen for name in fields}) for chosen in fields
    ]
    return functools.reduce(operator.or_, alternatives)


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
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
    )
    party_role = models.ForeignKey(
        PartyRole, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
    )
    system_fact = models.ForeignKey(
        SystemFact, null=True, blank=True, on_delete=models.CASCADE, related_name="citations"
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
                condition=_exactly_one(CITED_FIELDS),
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
        for field in CITED_FIELDS:
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
        linked = [field for field in CITED_FIELDS if getattr(self, f"{field}_id") is not None]
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
