"""As known at (transaction time): a page shows the numbers the database held at a past
moment — before a correction — from the ledger's posted and cancelled times."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def corrected(db):
    """A delivery of 10, then (after `before`) corrected to 20."""
    from stock.refresh import estimates_refresh_all
    from tests.factories import TransferFactory, WeaponSystemFactory, state
    from transfers.services import record_save

    system = WeaponSystemFactory(name="Gepard")
    sent = TransferFactory(
        donor=state("DE"), recipient=state("UA"), system=system, quantity_low=10, quantity_high=10
    )
    estimates_refresh_all()
    before = timezone.now()
    sent.quantity_low = sent.quantity_high = 20
    sent.quantity_text = "20"
    record_save(record=sent)
    estimates_refresh_all()
    return {"system": system, "before": before, "transfer": sent}


def on_hand(html: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r'data-key="on_hand"[^>]*>(.*?)</', html).group(1))


def test_the_explanation_as_known_before_the_correction_shows_the_old_number(
    viewer_client, corrected
):
    url = f"/explore/explain/UA/{corrected['system'].pk}/"
    now = viewer_client.get(url).content.decode()
    assert "≥ 20" in on_hand(now) and "≥ 10" not in now
    then = viewer_client.get(url, {"known_at": corrected["before"].isoformat()})
    html = then.content.decode()
    assert "≥ 10" in on_hand(html)
    assert "As the database knew it at" in html
    # the row it showed then: the delivery of 10, not the corrected one
    assert ">10<" in html and ">20<" not in html


def test_the_party_page_as_known_at_counts_the_rows_known_then(viewer_client, corrected):
    now = viewer_client.get("/explore/parties/UA/?format=json").json()
    then = viewer_client.get(
        "/explore/parties/UA/",
        {"format": "json", "known_at": corrected["before"].isoformat()},
    ).json()
    assert [r["quantity"] for r in now["tables"]["received"]["rows"]] == ["20"]
    assert [r["quantity"] for r in then["tables"]["received"]["rows"]] == ["10"]
    assert [r["on_hand_low"] for r in now["tables"]["estimates"]["rows"]] == [20]
    assert [r["on_hand_low"] for r in then["tables"]["estimates"]["rows"]] == [10]
    assert then["known_at"] == corrected["before"].isoformat()
    # before anything was recorded, nothing was known
    early = viewer_client.get(
        "/explore/parties/UA/", {"format": "json", "known_at": "2001-01-01"}
    ).json()
    assert early["tables"]["received"]["rows"] == []
    assert early["tables"]["estimates"]["rows"] == []


def test_a_date_means_the_end_of_that_day(viewer_client, corrected):
    today = timezone.now().astimezone(dt.UTC).date().isoformat()
    body = viewer_client.get("/explore/parties/UA/", {"format": "json", "known_at": today}).json()
    assert [r["quantity"] for r in body["tables"]["received"]["rows"]] == ["20"]


def test_links_from_a_page_as_known_at_stay_at_that_moment(viewer_client, corrected):
    html = viewer_client.get("/explore/parties/UA/", {"known_at": "2030-01-01"}).content.decode()
    assert "known_at=2030-01-01" in html
    assert "(the records as they are now)" in html  # pledges, authorizations


def test_a_bad_known_at_is_refused_naming_it(viewer_client, corrected):
    response = viewer_client.get("/explore/parties/UA/", {"known_at": "last tuesday"})
    assert response.status_code == 400
    assert "'last tuesday'" in response.content.decode()
    # pages that cannot show the past say so, as for any parameter they do not take
    system = viewer_client.get(f"/explore/systems/{corrected['system'].pk}/?known_at=2024-01-01")
    assert system.status_code == 400 and "known_at" in system.content.decode()


def test_the_sql_and_the_rows_agree_as_known_at(corrected):
    """estimates_as_of(known_at=) and the ledger rows known then give the same received."""
    from stock.models import LedgerEntry, counted_known_at
    from stock.selectors import estimates_as_of

    before = corrected["before"]
    (estimate,) = estimates_as_of(
        timezone.localdate(),
        holder_ids=[corrected["transfer"].recipient_id],
        system_ids=[corrected["system"].pk],
        known_at=before,
    )
    rows = LedgerEntry.objects.filter(
        counted_known_at(before), system=corrected["system"], kind="received"
    )
    assert LedgerEntry.objects.filter(system=corrected["system"], kind="received").count() == 2
    assert [(r.quantity_low, r.quantity_high) for r in rows] == [(10, 10)]
    assert (estimate.received_low, estimate.received_high) == (10, 10)
