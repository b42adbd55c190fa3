"""The admin refuses a save over a change made since the form was opened, showing what
changed (issue 14, part 8)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.history import history_door
from tests.factories import UserFactory, WeaponSystemFactory, state
from transfers.models import Transfer
from transfers.services import record_update, transfer_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def transfer(db):
    return transfer_create(
        donor=state("GB"),
        recipient=state("UA"),
        system=WeaponSystemFactory(),
        quantity_text="dozens",
        notes="as entered",
    )


def opened(client, transfer) -> dict:
    """The change form as a browser would post it back, unchanged."""
    url = reverse("admin:transfers_transfer_change", args=[transfer.pk])
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    data.update(
        {
            "citations-TOTAL_FORMS": "0",
            "citations-INITIAL_FORMS": "0",
            "citations-MIN_NUM_FORMS": "0",
            "citations-MAX_NUM_FORMS": "1000",
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
            "roles-MIN_NUM_FORMS": "0",
            "roles-MAX_NUM_FORMS": "1000",
            "save_without_source": "on",  # the factory's transfer cites nothing (issue 12)
        }
    )
    return data


def test_a_save_over_a_change_made_meanwhile_is_refused_with_what_changed(client, transfer):
    client.force_login(UserFactory(username="desk", role="editor"))
    url = reverse("admin:transfers_transfer_change", args=[transfer.pk])
    data = opened(client, transfer)

    other = UserFactory(username="colleague", role="editor")
    with history_door("api"):
        record_update(record=transfer, notes="corrected by a colleague", actor=other)

    mine = {**data, "quantity_text": "about 100", "quantity_low": "", "quantity_high": ""}
    response = client.post(url, mine)

    assert response.status_code == 200  # the form again, not a redirect
    errors = " ".join(response.context["adminform"].form.non_field_errors())
    assert "changed after you opened it" in errors
    assert "colleague" in errors and "api" in errors
    assert "notes: as entered → corrected by a colleague" in errors
    transfer.refresh_from_db()
    assert transfer.quantity_text == "dozens" and transfer.notes == "corrected by a colleague"

    # Saving the refused form again overwrites the other change, deliberately.
    again = {
        **mine,
        "stockpile_version": response.context["adminform"].form["stockpile_version"].value(),
    }
    assert client.post(url, again).status_code == 302
    transfer.refresh_from_db()
    assert transfer.quantity_text == "about 100"


def test_a_save_with_nothing_changed_meanwhile_goes_through(client, transfer):
    client.force_login(UserFactory(username="desk", role="editor"))
    url = reverse("admin:transfers_transfer_change", args=[transfer.pk])
    data = {**opened(client, transfer), "notes": "my edit"}
    assert client.post(url, data).status_code == 302
    assert Transfer.objects.get(pk=transfer.pk).notes == "my edit"


def test_a_post_without_the_version_is_refused(client, transfer):
    client.force_login(UserFactory(username="desk", role="editor"))
    url = reverse("admin:transfers_transfer_change", args=[transfer.pk])
    data = {**opened(client, transfer), "notes": "blind write"}
    del data["stockpile_version"]
    assert client.post(url, data).status_code == 200
    assert Transfer.objects.get(pk=transfer.pk).notes == "as entered"


def test_every_tracked_admin_change_form_carries_the_version(admin_client, transfer):
    page = admin_client.get(reverse("admin:transfers_transfer_change", args=[transfer.pk]))
    assert 'name="stockpile_version"' in page.content.decode()
    country = admin_client.get(reverse("admin:inventory_country_change", args=[state("UA").pk]))
    assert 'name="stockpile_version"' in country.content.decode()
