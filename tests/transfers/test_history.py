"""Change history: every create, update and delete is kept with who, when, what changed and
through which door, for admin, service and bulk writes, and it outlives its record."""

import pytest
from django.urls import reverse

from core.history import history_door
from core.services import tracked_bulk_create, tracked_bulk_delete, tracked_bulk_update
from tests.factories import UserFactory, WeaponSystemFactory, state
from transfers.models import Citation, Transfer
from transfers.services import record_delete, record_update, transfer_create

pytestmark = pytest.mark.django_db


def _transfer(**fields):
    return transfer_create(
        donor=state("GB"),
        recipient=state("UA"),
        system=WeaponSystemFactory(),
        quantity_text="dozens",
        **fields,
    )


def test_service_writes_keep_actor_door_and_diff():
    analyst = UserFactory(username="analyst")
    transfer = _transfer(actor=analyst)
    with history_door("task"):
        record_update(
            record=transfer, quantity_text="", quantity_low=30, quantity_high=40, actor=analyst
        )
    created, updated = transfer.history.order_by("history_date")
    assert (created.history_type, created.door, created.actor_name) == ("+", "shell", "analyst")
    assert (updated.history_type, updated.door) == ("~", "task")
    diff = updated.diff_against(created)
    changed = {change.field: (change.old, change.new) for change in diff.changes}
    assert changed["quantity_low"] == (24, 30)
    assert changed["quantity_high"] == (99, 40)


def test_history_survives_deletion_of_the_record_and_of_the_user():
    analyst = UserFactory(username="leaver")
    transfer = _transfer(
        actor=analyst,
        citations=[{"source": {"url": "https://example.org/r", "title": "R"}, "excerpt": "dozens"}],
    )
    pk = transfer.pk
    record_delete(record=transfer, actor=analyst)
    analyst.delete()
    rows = Transfer.history.filter(id=pk).order_by("history_date")
    assert [row.history_type for row in rows] == ["+", "-"]
    assert all(row.actor_name == "leaver" and row.history_user is None for row in rows)
    assert Citation.history.filter(transfer_id=pk, history_type="-").count() == 1
    assert not Transfer.objects.filter(pk=pk).exists()


def test_bulk_writes_record_history_with_actor_and_door():
    importer = UserFactory(username="importer")
    system = WeaponSystemFactory()
    with history_door("import"):
        created = tracked_bulk_create(
            Transfer,
            [
                Transfer(
                    donor=state("US"),
                    recipient=state("UA"),
                    system=system,
                    quantity_low=n,
                    quantity_high=n,
                    quantity_text=str(n),
                    date=None,
                    date_precision="unknown",
                )
                for n in range(1, 6)
            ],
            actor=importer,
        )
        for transfer in created:
            transfer.quantity_high = transfer.quantity_low + 1
        tracked_bulk_update(Transfer, created, ["quantity_high"], actor=importer)
        tracked_bulk_delete(Transfer.objects.filter(quantity_low__lte=2), actor=importer)
    rows = Transfer.history.all()
    assert rows.filter(history_type="+").count() == 5
    assert rows.filter(history_type="~").count() == 5
    assert rows.filter(history_type="-").count() == 2
    assert set(rows.values_list("door", "actor_name").distinct()) == {("import", "importer")}
    assert Transfer.objects.count() == 3


def test_admin_writes_are_attributed_to_the_admin_door_and_shown_on_the_record(client):
    editor = UserFactory(username="desk", role="editor")
    client.force_login(editor)
    transfer = _transfer()
    url = reverse("admin:transfers_transfer_change", args=[transfer.pk])
    data = {
        "donor": transfer.donor_id,
        "recipient": transfer.recipient_id,
        "system": transfer.system_id,
        "basis": "unknown",
        "condition": "unknown",
        "quantity_text": "about 100",
        "quantity_low": "24",
        "quantity_high": "99",
        "date": "",
        "date_precision": "unknown",
        "notes": "",
        "citations-TOTAL_FORMS": "0",
        "citations-INITIAL_FORMS": "0",
        "citations-MIN_NUM_FORMS": "0",
        "citations-MAX_NUM_FORMS": "1000",
        "roles-TOTAL_FORMS": "0",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        # The version of the record the form was opened on (core.admin_versions).
        "stockpile_version": client.get(url).context["adminform"].form["stockpile_version"].value(),
        "save_without_source": "on",  # the record has no citation: the editor confirms
    }
    # The editor changes only the wording: the bounds follow it.
    assert client.post(url, data).status_code == 302
    latest = transfer.history.latest()
    assert (latest.door, latest.actor_name, latest.quantity_low, latest.quantity_high) == (
        "admin",
        "desk",
        90,
        110,
    )
    page = client.get(
        reverse("admin:transfers_transfer_history", args=[transfer.pk])
    ).content.decode()
    assert "desk" in page and "admin" in page
    history_list = client.get(
        reverse("admin:transfers_historicaltransfer_changelist")
    ).content.decode()
    assert "desk" in history_list


def test_history_door_rejects_unknown_doors():
    with pytest.raises(ValueError, match="carrier pigeon"), history_door("carrier pigeon"):
        pass
