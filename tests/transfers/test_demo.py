"""The demo data set loads on PostgreSQL and SQLite (CI runs this suite on both), twice,
with identical results, and every record in it is cited."""

import pytest
from django.core.management import call_command

from inventory.models import WeaponSystem
from transfers.models import RECORD_MODELS, Citation, Source
from transfers.selectors import unsourced

pytestmark = pytest.mark.django_db


def _snapshot():
    rows = {}
    for model in (*RECORD_MODELS, Citation, Source, WeaponSystem):
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if f.attname not in ("created_at", "updated_at")
        ]
        rows[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    rows["history"] = sum(model.history.count() for model in RECORD_MODELS)
    return rows


def test_demo_loads_twice_with_identical_results(capsys):
    call_command("load_demo")
    first = _snapshot()
    call_command("load_demo")
    assert _snapshot() == first
    assert (
        "0 systems, 0 sources, 0 records, 0 party roles, 0 system facts created"
        in capsys.readouterr().out
    )


def test_demo_holds_the_worked_example_and_every_record_is_cited():
    call_command("load_demo")
    from transfers.models import Authorization, Holding, Pledge, Transfer

    for model in RECORD_MODELS:
        assert model.objects.exists(), model
        assert not unsourced(model).exists(), model
    pledge = Pledge.objects.get(external_id="demo:atacms-third-country-pledge")
    assert (
        pledge.donor is None and pledge.quantity.is_unknown and pledge.status == "under_discussion"
    )
    dozens = Transfer.objects.get(external_id="demo:uk-storm-shadow-dozens-more")
    assert (dozens.quantity_low, dozens.quantity_high) == (24, 99)
    assert Authorization.objects.filter(holder__code="UA").count() == 2
    assert set(
        Holding.objects.filter(kind="contracted", system__name="ATACMS").values_list(
            "holder__code", flat=True
        )
    ) == {"KR", "TW", "RO", "PL", "AE"}
    assert set(WeaponSystem.objects.get(name="ATACMS").variants.values_list("name", flat=True)) == {
        "ATACMS Block I",
        "ATACMS Block IA",
        "ATACMS Unitary",
    }
    assert Citation.objects.filter(transfer=dozens, attribution="anonymous").exists()


def test_ensure_admin_prints_the_password_only_when_it_creates_the_account(
    capsys, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    call_command("ensure_admin")
    first = capsys.readouterr().out
    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert first.startswith(f"Admin login: admin / {password}\n")
    call_command("ensure_admin")
    again = capsys.readouterr().out
    assert password not in again
    assert str(tmp_path / "admin-password.txt") in again
    assert "manage.py changepassword admin" in again
