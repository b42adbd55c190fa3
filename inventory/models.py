"""The catalogue: parties (countries and others) and weapon systems, with their aliases."""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from core.history import tracked_history
from inventory.choices import (
    AliasKind,
    CountingUnit,
    PartyKind,
    ProposalMethod,
    ProposalRelation,
    ProposalStatus,
    SipriCategory,
    UnrocaCategory,
)


def normalize_alias(text: str) -> str:
    """The form aliases are matched in: case, accents, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^0-9a-z]+", " ", text.lower())
    return text.strip()


class Country(models.Model):
    """A party that holds, gives or receives weapons: a state or another kind of party.

    States use their ISO 3166-1 alpha-2 code. Other parties use a code of three or more
    letters of our own (NATO, EUN for the EU, SUN for the Soviet Union, XXU for "unknown"), so they can
    never collide with an ISO code.
    """

    code = models.CharField(
        max_length=12,
        unique=True,
        help_text="ISO 3166-1 alpha-2 for states; a code of our own for other parties.",
    )
    iso_alpha3 = models.CharField("ISO alpha-3", max_length=3, blank=True)
    name = models.CharField(max_length=200)
    official_name = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=PartyKind.choices, default=PartyKind.STATE)
    existed_from = models.DateField(
        null=True, blank=True, help_text="The first day the party existed, where it matters."
    )
    existed_until = models.DateField(
        null=True,
        blank=True,
        help_text="The last day the party existed (East Germany: 1990-10-02); empty: it exists.",
    )
    notes = models.TextField(blank=True)

    history = tracked_history()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries and parties"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="country_name_unique_ci",
                violation_error_message=("A party with this name already exists."),
            ),
            models.CheckConstraint(
                condition=~models.Q(code=""),
                name="country_code_not_blank",
                violation_error_message="The code must not be blank.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def existed_on(self, day) -> bool:
        """False when the party had ceased to exist, or did not yet exist, on `day`."""
        if self.existed_until is not None and day > self.existed_until:
            return False
        return not (self.existed_from is not None and day < self.existed_from)

    def clean(self) -> None:
        self.code = (self.code or "").strip().upper()
        if self.existed_from and self.existed_until and self.existed_until < self.existed_from:
            raise ValidationError(
                {
                    "existed_until": f"The end ({self.existed_until}) is before the start "
                    f"({self.existed_from})."
                }
            )
        if self.kind == PartyKind.STATE and not re.fullmatch(r"[A-Z]{2}", self.code):
            raise ValidationError(
                {"code": f"A state's code must be its ISO 3166-1 alpha-2 code, not {self.code!r}."}
            )
        if self.kind != PartyKind.STATE and len(self.code) < 3:
            raise ValidationError(
                {
                    "code": f"A non-state party's code needs three or more letters, not {self.code!r}"
                    " (two letters are reserved for ISO 3166)."
                }
            )


class CountryAlias(models.Model):
    """Another name or code a party goes by ("UAE", "AE", "ARE", "Czech Republic")."""

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200)
    alias_normalized = models.CharField(max_length=200, unique=True, editable=False)

    history = tracked_history()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "country aliases"

    def __str__(self) -> str:
        return self.alias

    def clean(self) -> None:
        self.alias_normalized = normalize_alias(self.alias or "")
        if not self.alias_normalized:
            raise ValidationError({"alias": f"The alias {self.alias!r} has no letters or digits."})

    def validate_unique(self, exclude=None) -> None:
        # alias_normalized is checked below with a message that names the alias.
        super().validate_unique(exclude={*(exclude or ()), "alias_normalized"})
        clash = CountryAlias.objects.filter(alias_normalized=self.alias_normalized).exclude(
            pk=self.pk
        )
        if clash.exists():
            raise ValidationError(
                {"alias": f"The alias {self.alias!r} already names {clash.first().country}."}
            )


class WeaponSystem(models.Model):
    """A weapon system, family or variant: ATACMS is a family, ATACMS Block IA a variant."""

    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
        help_text="The family this system is a variant of.",
    )
    unroca_category = models.CharField(
        "UNROCA category", max_length=4, choices=UnrocaCategory.choices, blank=True
    )
    sipri_category = models.CharField(
        "SIPRI category", max_length=20, choices=SipriCategory.choices, blank=True
    )
    description = models.CharField(max_length=300, blank=True)
    manufacturer = models.CharField(max_length=200, blank=True)
    origin = models.ForeignKey(
        Country,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="systems_originated",
        help_text="Country of origin (designer).",
    )
    range_km = models.DecimalField(
        "range (km)",
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(0, message="Range must not be negative (got %(show_value)s).")
        ],
    )
    counting_unit = models.CharField(
        max_length=20, choices=CountingUnit.choices, default=CountingUnit.SYSTEM
    )
    notes = models.TextField(blank=True)
    catalogued = models.BooleanField(
        "in the catalogue",
        default=True,
        help_text="A catalogue entry (seeded, entered or confirmed by an editor). Off for a "
        "system an import created for a dataset name it could not resolve: such names are "
        "listed as unresolved until an editor confirms what they are.",
    )

    history = tracked_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="weaponsystem_name_unique_ci",
                violation_error_message="A weapon system with this name already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(range_km__isnull=True) | models.Q(range_km__gte=0),
                name="weaponsystem_range_non_negative",
                violation_error_message="Range must not be negative.",
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="weaponsystem_not_own_parent",
                violation_error_message="A system cannot be its own family.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name = (self.name or "").strip()
        ancestor = self.parent
        seen = set()
        while ancestor is not None:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError(
                    {"parent": f"{self.parent} is a variant of {self.name}: the tree would loop."}
                )
            if ancestor.pk in seen:
                break
            seen.add(ancestor.pk)
            ancestor = ancestor.parent

    @property
    def family(self) -> WeaponSystem:
        """The root of this system's family tree (itself when it has no parent)."""
        node = self
        while node.parent_id is not None:
            node = node.parent
        return node


class WeaponSystemAlias(models.Model):
    """A designation or other name (MGM-140 for ATACMS, SCALP-EG for Storm Shadow)."""

    system = models.ForeignKey(WeaponSystem, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AliasKind.choices, default=AliasKind.NAME)
    alias_normalized = models.CharField(max_length=200, unique=True, editable=False)

    history = tracked_history()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "weapon system aliases"

    def __str__(self) -> str:
        return self.alias

    def clean(self) -> None:
        self.alias_normalized = normalize_alias(self.alias or "")
        if not self.alias_normalized:
            raise ValidationError({"alias": f"The alias {self.alias!r} has no letters or digits."})

    def validate_unique(self, exclude=None) -> None:
        # alias_normalized is checked below with a message that names the alias.
        super().validate_unique(exclude={*(exclude or ()), "alias_normalized"})
        clash = WeaponSystemAlias.objects.filter(alias_normalized=self.alias_normalized).exclude(
            pk=self.pk
        )
        if clash.exists():
            raise ValidationError(
                {"alias": f"The alias {self.alias!r} already names {clash.first().system}."}
            )


class UnresolvedManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(catalogued=False)


class UnresolvedSystemName(WeaponSystem):
    """A dataset's name with no catalogue entry: a system an import created (not in the
    catalogue) and no editor has confirmed yet. Listed by record count in the admin."""

    objects = UnresolvedManager()

    class Meta:
        proxy = True
        verbose_name = "unresolved dataset name"
        verbose_name_plural = "unresolved dataset names"


class SystemAliasProposal(models.Model):
    """A candidate catalogue entry for a dataset's name, proposed automatically (see
    `inventory.catalogue`), confirmed or rejected by an editor. A rejected proposal is never
    proposed again; every decision keeps who and when (and the history of the row)."""

    name = models.CharField(max_length=200, help_text="The name as the dataset spells it.")
    name_normalized = models.CharField(max_length=200, editable=False)
    dataset = models.CharField(max_length=40, blank=True, help_text="The import format.")
    system = models.ForeignKey(
        WeaponSystem,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The system the name resolves to today (created by the import).",
    )
    candidate = models.ForeignKey(
        WeaponSystem,
        on_delete=models.CASCADE,
        related_name="alias_proposals",
        help_text="The catalogue entry proposed for the name.",
    )
    relation = models.CharField(max_length=10, choices=ProposalRelation.choices)
    method = models.CharField(max_length=20, choices=ProposalMethod.choices)
    status = models.CharField(
        max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_by_name = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)

    history = tracked_history()

    class Meta:
        ordering = ["status", "name"]
        verbose_name = "system alias proposal"
        constraints = [
            models.UniqueConstraint(
                fields=["name_normalized", "candidate"],
                name="systemaliasproposal_name_candidate_unique",
                violation_error_message="This name was already proposed for this system.",
            ),
            models.CheckConstraint(
                condition=~models.Q(name_normalized=""),
                name="systemaliasproposal_name_not_blank",
                violation_error_message="A proposal needs a name with letters or digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.candidate} ({self.get_relation_display()})"

    def clean(self) -> None:
        self.name = (self.name or "").strip()
        self.name_normalized = normalize_alias(self.name)
        if not self.name_normalized:
            raise ValidationError({"name": f"The name {self.name!r} has no letters or digits."})
