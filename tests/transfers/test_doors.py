"""One write path: the same records entered through the admin, the API and an import end
identical: the records, their history (apart from the door that names where they came
from), their stock-ledger rows and the estimates. The pledge a transfer fulfils follows its
delivery through every door (it did not through the importers before issue 11)."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.urls import reverse

from inventory.models import Country, WeaponSystem
from stock.models import LedgerEntry, StockEstimate
from stock.refresh import estimates_refresh_pairs
from tests.factories import SourceFactory, UserFactory, WeaponSystemFactory
from transfers.choices import PledgeStatus
from transfers.exporters import export_json
from transfers.importers import import_file
from transfers.models import Citation, Pledge, Transfer

pytestmark = pytest.mark.django_db

PLEDGE = {"quantity_text": "10", "date": "2024-11-01", "date_precision": "month"}
DELIVERY = {"quantity_text": "3", "date": "2024-12-01", "date_precision": "month"}
CITATION = {"excerpt": "officials said", "attribution": "named", "credibility": 2}


def _fingerprint() -> dict:
    """What a door must not change: every record, citation, history row (without the door
    and the time), counted ledger row and estimate, with ids replaced by what they stand
    for."""
    estimates_refresh_pairs(set(LedgerEntry.objects.values_list("holder_id", "system_id")))
    records = {}
    for model in (Pledge, Transfer):
        rows = []
        for record in model.objects.order_by("pk"):
            rows.append(
                (
                    record.donor.code if record.donor else None,
                    record.recipient.code,
                    record.system.name,
                    record.quantity_low,
                    record.quantity_high,
                    record.quantity_text,
                    str(record.date),
                    record.date_precision,
                    getattr(record, "status", None),
                    bool(getattr(record, "pledge_id", None)),
                    [(c.source.url_canonical, c.excerpt, c.grade) for c in record.citations.all()],
                    [row.history_type for row in record.history.order_by("history_id")],
                )
            )
        records[model.__name__] = rows
    ledger = sorted(
        (
            row.holder.code,
            row.system.name,
            row.kind,
            row.quantity_low,
            row.quantity_high,
            str(row.date),
            row.grade,
        )
        # the rows that count (how many rows a door cancelled on its way there may differ:
        # the admin saves the record before its inline citations)
        for row in LedgerEntry.objects.filter(is_cancelled=False).select_related("holder", "system")
    )
    estimates = sorted(
        (e.holder.code, e.system.name, e.scope, str(e.on_hand), str(e.incoming), e.best_grade)
        for e in StockEstimate.objects.select_related("holder", "system")
    )
    citation_history = sorted(
        row.history_type for row in Citation.history.all()
    )  # one "+" per citation, whichever door
    return {
        "records": records,
        "ledger": ledger,
        "estimates": estimates,
        "citations": citation_history,
    }


def _doors_in(door: str) -> set[str]:
    return set(Pledge.history.values_list("door", flat=True)) | set(
        Transfer.history.values_list("door", flat=True)
    )


def _through_admin(client, system, source) -> None:
    def post(model, fields):
        data = {"notes": "", **fields, **PLEDGE_MANAGEMENT}
        data.update({f"citations-0-{k}": v for k, v in CITATION.items()})
        data.update(
            {
                "citations-0-source": source.pk,
                "citations-0-stance": "supports",
                "citations-0-locator": "",
            }
        )
        url = reverse(f"admin:transfers_{model._meta.model_name}_add")
        response = client.post(url, data)
        errors = response.context and [
            *response.context["adminform"].form.errors.items(),
            *[f.errors for f in response.context["inline_admin_formsets"][0].formset],
        ]
        assert response.status_code == 302, errors
        return model.objects.order_by("-pk").first()

    ua, us = Country.objects.get(code="UA").pk, Country.objects.get(code="US").pk
    pledge = post(
        Pledge,
        {"donor": us, "recipient": ua, "system": system.pk, "status": "announced", **PLEDGE},
    )
    post(
        Transfer,
        {
            "donor": us,
            "recipient": ua,
            "system": system.pk,
            "pledge": pledge.pk,
            "basis": "pledge",
            "condition": "unknown",
            **DELIVERY,
        },
    )


PLEDGE_MANAGEMENT = {
    "citations-TOTAL_FORMS": "1",
    "citations-INITIAL_FORMS": "0",
    "citations-MIN_NUM_FORMS": "0",
    "citations-MAX_NUM_FORMS": "1000",
    "roles-TOTAL_FORMS": "0",
    "roles-INITIAL_FORMS": "0",
    "roles-MIN_NUM_FORMS": "0",
    "roles-MAX_NUM_FORMS": "1000",
}


def _through_api(api, system, source) -> None:
    cite = [{"source_id": source.pk, **CITATION}]
    common = {"donor": "US", "recipient": "UA", "system": system.pk, "citations": cite}
    pledge = api.post("/api/v1/pledges/", {**common, **PLEDGE}, format="json")
    assert pledge.status_code == 201, pledge.content
    delivery = {**common, **DELIVERY, "pledge": pledge.json()["id"]}
    response = api.post("/api/v1/transfers/", delivery, format="json")
    assert response.status_code == 201, response.content


def _rolled_back(enter) -> tuple[dict, bytes]:
    """Enter the records, read their fingerprint and their native export, then undo it all."""
    with transaction.atomic():
        enter()
        fingerprint = _fingerprint()
        document = export_json()
        transaction.set_rollback(True)
    assert not Pledge.objects.exists() and not LedgerEntry.objects.exists()
    return fingerprint, document


def test_admin_api_and_import_doors_write_identical_records_history_ledger_and_estimates(
    client, api_client_for
):
    editor = UserFactory(username="editor", role="editor")
    client.force_login(editor)
    api = api_client_for(editor)
    system = WeaponSystemFactory(name="Door test system")
    source = SourceFactory(url="https://news.example.org/doors", title="Doors")

    by_admin, document = _rolled_back(lambda: _through_admin(client, system, source))
    by_api, _ = _rolled_back(lambda: _through_api(api, system, source))
    with transaction.atomic():
        report = import_file("stockpile", _as_stated(document), actor=editor)
        assert report.ok, report.summary()
        by_import = _fingerprint()
        import_doors = _doors_in("import")
        transaction.set_rollback(True)

    assert by_admin == by_api == by_import
    # the pledge followed its delivery, through every door
    assert by_import["records"]["Pledge"][0][8] == PledgeStatus.PARTIALLY_DELIVERED
    assert by_import["records"]["Pledge"][0][11] == ["+", "~"]
    assert import_doors == {"import"}


def _as_stated(document: bytes) -> bytes:
    """The file as a dataset would state it: the pledge "announced" (as the other doors
    entered it), not the status its delivery gave it since."""
    data = json.loads(document)
    for pledge in data["records"]["pledge"]:
        pledge["status"] = PledgeStatus.ANNOUNCED
    return json.dumps(data).encode()


def test_a_reimport_of_a_fulfilled_pledge_changes_nothing(editor):
    """The file still says "announced": the delivery recorded since is not undone, and no
    history row is written."""
    system = WeaponSystemFactory(name="Reimport system")
    source = SourceFactory(url="https://news.example.org/reimport", title="Reimport")
    pledge = Pledge.objects.create(
        donor=Country.objects.get(code="US"),
        recipient=Country.objects.get(code="UA"),
        system=system,
        quantity_low=10,
        quantity_high=10,
        quantity_text="10",
        date_precision="unknown",
        external_id="file:pledge:1",
    )
    Citation.objects.create(source=source, pledge=pledge, credibility=2)
    document = export_json()
    Pledge.objects.all().delete()
    Citation.objects.all().delete()

    first = import_file("stockpile", document, actor=editor)
    assert first.ok, first.summary()
    stored = Pledge.objects.get()
    from transfers.services import transfer_create

    transfer_create(
        donor=stored.donor,
        recipient=stored.recipient,
        system=system,
        quantity_text="4",
        pledge=stored,
    )
    stored.refresh_from_db()
    assert stored.status == PledgeStatus.PARTIALLY_DELIVERED
    rows_before = stored.history.count()

    again = import_file("stockpile", document, actor=editor)
    stored.refresh_from_db()
    assert again.ok and stored.status == PledgeStatus.PARTIALLY_DELIVERED
    assert stored.history.count() == rows_before
    assert WeaponSystem.objects.filter(name="Reimport system").count() == 1
