"""Every constraint refuses bad data with a message naming the field and the value, through
the model, the service and the admin form; the database refuses it too; nothing is written."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from inventory.models import Country, WeaponSystem, WeaponSystemAlias
from inventory.services import country_create, weapon_system_alias_add, weapon_system_create
from tests.factories import (
    AuthorizationFactory,
    CitationFactory,
    HoldingFactory,
    PledgeFactory,
    SourceFactory,
    TransferFactory,
    WeaponSystemFactory,
    state,
)
from transfers.models import Authorization, Citation, Holding, Pledge, Source, Transfer
from transfers.services import (
    authorization_create,
    citation_create,
    holding_create,
    pledge_create,
    source_create,
    transfer_create,
)

pytestmark = pytest.mark.django_db


def _transfer_fields(**overrides):
    fields = {
        "donor": state("GB"),
        "recipient": state("UA"),
        "system": WeaponSystem.objects.get_or_create(name="Storm Shadow")[0],
        "quantity_text": "dozens",
        "date": dt.date(2024, 11, 20),
        "date_precision": "day",
    }
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    ("overrides", "field", "fragments"),
    [
        (
            {"quantity_low": 10, "quantity_high": 2, "quantity_text": ""},
            "quantity_high",
            ["2", "10"],
        ),
        ({"quantity_low": -5, "quantity_high": None, "quantity_text": ""}, "quantity_low", ["-5"]),
        ({"quantity_low": None, "quantity_high": 5, "quantity_text": ""}, "quantity_low", ["5"]),
        ({"quantity_text": "lots!!"}, "quantity_text", ["lots!!"]),
        ({"quantity_text": "10-2"}, "quantity_text", ["10-2"]),
        ({"recipient": "GB"}, "recipient", ["United Kingdom"]),
        ({"date_precision": "unknown"}, "date_precision", ["2024-11-20"]),
        ({"date": None, "date_precision": "month"}, "date", ["month"]),
    ],
)
def test_transfer_service_refuses_bad_input_naming_field_and_value(overrides, field, fragments):
    if overrides.get("recipient") == "GB":
        overrides = {**overrides, "recipient": state("GB")}
    with pytest.raises(ValidationError) as refused:
        transfer_create(**_transfer_fields(**overrides))
    messages = " ".join(refused.value.message_dict[field])
    for fragment in fragments:
        assert fragment in messages
    assert Transfer.objects.count() == 0
    assert Transfer.history.count() == 0


def test_a_refused_citation_rolls_back_the_whole_record():
    with pytest.raises(ValidationError) as refused:
        transfer_create(
            **_transfer_fields(),
            citations=[
                {
                    "source": {"url": "https://example.org/a", "title": "A"},
                    "attribution": "anonymous",
                    "credibility": 1,
                }
            ],
        )
    assert "credibility" in refused.value.message_dict
    assert Transfer.objects.count() == 0
    assert Source.objects.count() == 0
    assert Citation.objects.count() == 0


def test_pledge_donor_may_be_undisclosed_but_not_the_recipient():
    system = WeaponSystemFactory()
    pledge = pledge_create(recipient=state("UA"), system=system, quantity_text="unknown")
    assert pledge.donor is None and pledge.donor_display == "Undisclosed donor"
    assert pledge.quantity_low is None and pledge.quantity_high is None
    with pytest.raises(ValidationError) as refused:
        pledge_create(donor=state("UA"), recipient=state("UA"), system=system)
    assert "Ukraine" in refused.value.message_dict["recipient"][0]


def test_holding_holder_cannot_be_its_own_supplier():
    with pytest.raises(ValidationError) as refused:
        holding_create(
            holder=state("PL"),
            supplier=state("PL"),
            system=WeaponSystemFactory(),
            kind="contracted",
        )
    assert "Poland" in refused.value.message_dict["supplier"][0]
    assert Holding.objects.count() == 0


def test_authorization_cannot_end_before_it_starts():
    with pytest.raises(ValidationError) as refused:
        authorization_create(
            grantor=state("US"),
            holder=state("UA"),
            system=WeaponSystemFactory(),
            scope="x",
            date=dt.date(2024, 11, 17),
            valid_until=dt.date(2024, 1, 1),
        )
    assert "2024-01-01" in refused.value.message_dict["valid_until"][0]
    assert Authorization.objects.count() == 0


def test_duplicate_canonical_url_is_refused_naming_the_url():
    source_create(url="https://www.Reuters.com/world/article?utm_source=x#top", title="A")
    with pytest.raises(ValidationError) as refused:
        source_create(url="http://reuters.com/world/article/", title="B")
    assert "http://reuters.com/world/article/" in refused.value.message_dict["url"][0]
    assert Source.objects.count() == 1


def test_sha256_must_be_hex():
    with pytest.raises(ValidationError) as refused:
        source_create(url="https://example.org/x", title="X", content_sha256="not-a-digest")
    assert "not-a-digest" in refused.value.message_dict["content_sha256"][0]


def test_anonymous_sourcing_cannot_be_graded_confirmed():
    transfer = TransferFactory()
    with pytest.raises(ValidationError) as refused:
        citation_create(
            record=transfer, source=SourceFactory(), attribution="anonymous", credibility=1
        )
    assert "credibility" in refused.value.message_dict
    assert Citation.objects.count() == 0


def test_state_code_must_be_iso_and_party_codes_long():
    with pytest.raises(ValidationError) as refused:
        country_create(code="ABC1", name="Nowhere", kind="state")
    assert "ABC1" in refused.value.message_dict["code"][0]
    with pytest.raises(ValidationError) as refused:
        country_create(code="QQ", name="Some Group", kind="non_state")
    assert "QQ" in refused.value.message_dict["code"][0]
    assert not Country.objects.filter(name__in=["Nowhere", "Some Group"]).exists()


def test_weapon_system_rules():
    with pytest.raises(ValidationError) as refused:
        weapon_system_create(name="Bad", range_km=-5)
    assert "-5" in refused.value.message_dict["range_km"][0]
    family = weapon_system_create(name="ATACMS", aliases=[("MGM-140", "designation")])
    variant = weapon_system_create(name="ATACMS Block I", parent=family)
    family.parent = variant
    with pytest.raises(ValidationError) as refused:
        family.full_clean()
    assert "loop" in refused.value.message_dict["parent"][0]
    with pytest.raises(ValidationError) as refused:
        weapon_system_alias_add(system=variant, alias="mgm 140")
    assert "mgm 140" in refused.value.message_dict["alias"][0]
    assert WeaponSystemAlias.objects.count() == 1
    with pytest.raises(ValidationError):
        weapon_system_create(name="atacms")
    assert WeaponSystem.objects.filter(name__iexact="atacms").count() == 1


def _update_raises(model, pk, **values):
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=pk).update(**values)


def test_database_refuses_what_validation_would_have_refused():
    """The named constraints hold even for writes that skip full_clean()."""
    transfer = TransferFactory()
    _update_raises(Transfer, transfer.pk, quantity_low=5, quantity_high=1)
    _update_raises(Transfer, transfer.pk, quantity_low=-1, quantity_high=None)
    _update_raises(Transfer, transfer.pk, recipient=transfer.donor)
    _update_raises(Transfer, transfer.pk, date=None)
    pledge = PledgeFactory()
    _update_raises(Pledge, pledge.pk, donor=pledge.recipient)
    holding = HoldingFactory()
    _update_raises(Holding, holding.pk, quantity_high=-3)
    authorization = AuthorizationFactory()
    _update_raises(Authorization, authorization.pk, holder=authorization.grantor)
    _update_raises(Authorization, authorization.pk, valid_until=dt.date(2000, 1, 1))
    citation = CitationFactory()
    _update_raises(Citation, citation.pk, pledge=pledge)
    _update_raises(Citation, citation.pk, transfer=None)
    _update_raises(Citation, citation.pk, attribution="anonymous", credibility=1)
    _update_raises(Citation, citation.pk, credibility=9)
    other = SourceFactory()
    _update_raises(Source, other.pk, url_canonical=citation.source.url_canonical)
    _update_raises(Source, other.pk, content_sha256="xyz")
    TransferFactory(external_id="sipri:1")
    _update_raises(Transfer, transfer.pk, external_id="sipri:1")
    transfer.refresh_from_db()
    assert (transfer.quantity_low, transfer.quantity_high) == (10, 10)


def test_month_and_year_dates_are_stored_as_the_start_of_their_period():
    transfer = transfer_create(
        **_transfer_fields(date=dt.date(2024, 11, 20), date_precision="year")
    )
    assert transfer.date == dt.date(2024, 1, 1)
    assert transfer.date_display == "2024"
    undated = transfer_create(**_transfer_fields(date=None, date_precision="day"))
    assert undated.date_precision == "unknown" and undated.date_display == "date unknown"


def test_bounds_follow_a_changed_wording_unless_they_were_changed_too():
    transfer = transfer_create(**_transfer_fields(quantity_text="dozens"))
    transfer = Transfer.objects.get(pk=transfer.pk)
    transfer.quantity_text = "at least 30"
    transfer.full_clean()
    assert (transfer.quantity_low, transfer.quantity_high) == (30, None)
    transfer = Transfer.objects.get(pk=transfer.pk)
    transfer.quantity_text = "dozens (our count: 40)"
    transfer.quantity_low = transfer.quantity_high = 40
    transfer.full_clean()
    assert (transfer.quantity_low, transfer.quantity_high) == (40, 40)
