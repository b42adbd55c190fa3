"""One factory per model. Factories create through the services (the tracked write kernel
for the catalogue and sources, the record services for records and citations), so factory
records have their history and their stock-ledger rows like any record entered through a
door; tests of a door use the door."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from inventory.choices import CountingUnit, PartyKind
from inventory.models import Country, CountryAlias, WeaponSystem, WeaponSystemAlias
from transfers.choices import ExpenditureKind, PledgeStatus
from transfers.models import (
    Authorization,
    Citation,
    Expenditure,
    Holding,
    Pledge,
    Source,
    Transfer,
    canonical_url,
)


class _TrackedFactory(factory.django.DjangoModelFactory):
    """Saved with `tracked_save` (history, full_clean) instead of a bare `save()`."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from core.services import tracked_save

        return tracked_save(model_class(*args, **kwargs))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class CountryFactory(_TrackedFactory):
    """Parties. ISO states already exist (migration 0002): use `Country.objects.get(code=...)`
    or `state("UA")` for those; this factory makes extra non-state parties."""

    class Meta:
        model = Country

    code = factory.Sequence(lambda n: f"XP{n:03d}")
    name = factory.Sequence(lambda n: f"Party {n}")
    kind = PartyKind.NON_STATE


def state(code: str) -> Country:
    return Country.objects.get(code=code)


class CountryAliasFactory(_TrackedFactory):
    class Meta:
        model = CountryAlias

    country = factory.SubFactory(CountryFactory)
    alias = factory.Sequence(lambda n: f"Alias {n}")
    alias_normalized = factory.LazyAttribute(lambda o: o.alias.lower())


class WeaponSystemFactory(_TrackedFactory):
    class Meta:
        model = WeaponSystem

    name = factory.Sequence(lambda n: f"System {n}")
    counting_unit = CountingUnit.VEHICLE


class WeaponSystemAliasFactory(_TrackedFactory):
    class Meta:
        model = WeaponSystemAlias

    system = factory.SubFactory(WeaponSystemFactory)
    alias = factory.Sequence(lambda n: f"SYS-{n}")
    alias_normalized = factory.LazyAttribute(lambda o: o.alias.lower().replace("-", " "))


class SourceFactory(_TrackedFactory):
    class Meta:
        model = Source

    url = factory.Sequence(lambda n: f"https://news.example.org/report/{n}")
    url_canonical = factory.LazyAttribute(lambda o: canonical_url(o.url))
    title = factory.Sequence(lambda n: f"Report {n}")
    publisher = "Example News"
    reliability = "B"


class _ServiceFactory(factory.django.DjangoModelFactory):
    """Records saved through `transfers.services.record_save`: validated, with history, and
    with their stock-ledger rows posted (and pledges following their deliveries)."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from transfers.services import record_save

        return record_save(record=model_class(*args, **kwargs))


class _RecordFactory(_ServiceFactory):
    system = factory.SubFactory(WeaponSystemFactory)
    quantity_low = 10
    quantity_high = 10
    quantity_text = "10"
    date = dt.date(2024, 11, 1)
    date_precision = "day"


class HoldingFactory(_RecordFactory):
    class Meta:
        model = Holding

    holder = factory.LazyFunction(lambda: state("PL"))


class PledgeFactory(_RecordFactory):
    class Meta:
        model = Pledge

    donor = factory.LazyFunction(lambda: state("US"))
    recipient = factory.LazyFunction(lambda: state("UA"))
    status = PledgeStatus.ANNOUNCED


class TransferFactory(_RecordFactory):
    class Meta:
        model = Transfer

    donor = factory.LazyFunction(lambda: state("GB"))
    recipient = factory.LazyFunction(lambda: state("UA"))


class ExpenditureFactory(_RecordFactory):
    class Meta:
        model = Expenditure

    holder = factory.LazyFunction(lambda: state("UA"))
    kind = ExpenditureKind.LAUNCHED


class AuthorizationFactory(_ServiceFactory):
    class Meta:
        model = Authorization

    grantor = factory.LazyFunction(lambda: state("US"))
    holder = factory.LazyFunction(lambda: state("UA"))
    system = factory.SubFactory(WeaponSystemFactory)
    scope = "Strikes into parts of Russia"
    date = dt.date(2024, 11, 17)
    date_precision = "day"


class CitationFactory(factory.django.DjangoModelFactory):
    """Citations saved through `citation_save`, which re-grades their record's ledger rows."""

    class Meta:
        model = Citation

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from transfers.services import citation_save

        return citation_save(citation=model_class(*args, **kwargs))

    source = factory.SubFactory(SourceFactory)
    transfer = factory.SubFactory(TransferFactory)
    excerpt = "sent dozens more"
    credibility = 2
