"""The holdings (baselines) template: counts from a yearbook become the estimates' baselines,
and the inconsistent flag then fires where losses exceed what was there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from inventory.models import WeaponSystem
from stock.estimates import Range
from stock.models import StaleEstimate, StockEstimate
from stock.refresh import estimates_refresh_pairs
from tests.factories import state
from transfers import services
from transfers.importers import import_file
from transfers.models import Expenditure, Holding

pytestmark = pytest.mark.django_db

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "templates" / "holdings.csv"
HEADER = "holder,system,quantity,date,source\n"


def _import(text: str, **kwargs):
    return import_file("holdings", text.encode(), filename="holdings.csv", **kwargs)


def _refresh():
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))


def test_the_documented_template_imports_as_baselines_with_their_dates_and_sources():
    report = import_file("holdings", TEMPLATE.read_bytes(), filename=TEMPLATE.name)
    assert report.ok and report.created["holding"] == 4, report.summary()
    assert set(Holding.objects.values_list("kind", flat=True)) == {"in_inventory"}
    t64 = Holding.objects.get(holder=state("UA"), system__name="T-64BV")
    assert (t64.quantity_low, t64.quantity_high, t64.quantity_text) == (90, 110, "about 100")
    assert (t64.date, t64.date_precision) == (dt.date(2021, 12, 31), "day")
    (citation,) = t64.citations.all()
    assert citation.source.title == "IISS, The Military Balance 2022, p. 210"
    assert citation.attribution == "document" and citation.locator == "line 2"
    leopard = Holding.objects.get(holder=state("PL"))
    assert (leopard.date, leopard.date_precision) == (dt.date(2021, 1, 1), "year")
    assert leopard.citations.get().source.url == "https://example.org/defence-yearbook-2021"
    himars = Holding.objects.get(holder=state("RO"))
    assert (himars.quantity_low, himars.quantity_high) == (18, None)
    assert himars.date_interval == (None, dt.date(2024, 6, 30))
    m777 = Holding.objects.get(holder=state("UA"), system__name__startswith="155mm")
    assert m777.quantity_low is None  # unknown, not zero
    assert m777.date_interval == (dt.date(2022, 3, 1), dt.date(2022, 4, 30))
    # re-importing changes nothing; a corrected count updates the same record
    again = import_file("holdings", TEMPLATE.read_bytes(), filename=TEMPLATE.name)
    assert again.unchanged["holding"] == 4 and not again.created
    corrected = TEMPLATE.read_text().replace("about 100,", "about 120,")
    assert _import(corrected).updated["holding"] == 1
    t64.refresh_from_db()
    assert t64.quantity_text == "about 120" and Holding.objects.count() == 4


@pytest.mark.parametrize(
    ("row", "field", "value"),
    [
        ("Ukraine,T-64BV,100,31/12/2021,Military Balance", "date", "31/12/2021"),
        ("Ukraine,T-64BV,100,2021-02-30,Military Balance", "date", "2021-02-30"),
        ("Ukraine,T-64BV,100,2021-12-31..2021-01-01,Military Balance", "date", ""),
        ("Ukraine,T-64BV,100,,Military Balance", "date", ""),
        ("Ukraine,T-64BV,lots and lots,2021,Military Balance", "quantity", "lots and lots"),
        ("Ukraine,T-64BV,,2021,Military Balance", "quantity", ""),
        ("Ukraine,T-64BV,100,2021,", "source", ""),
        ("Ukraine,T-64BV,100,2021,https://", "source", "https://"),
        ("Atlantis,T-64BV,100,2021,Military Balance", "holder", "Atlantis"),
    ],
)
def test_a_bad_row_names_its_column_and_value_and_nothing_is_written(row, field, value):
    good = "Poland,Leopard 2A4,128,2021,Yearbook\n"
    report = _import(HEADER + good + row + "\n")
    assert not report.ok
    (error,) = report.errors
    assert (error.line, error.field) == (3, field)
    assert value in error.value
    assert not Holding.objects.exists() and not WeaponSystem.objects.filter(name="T-64BV").exists()


def test_a_baseline_makes_losses_beyond_what_was_there_inconsistent():
    system = WeaponSystem.objects.create(name="T-64BV")
    services.expenditure_create(
        holder=state("UA"), system=system, kind="destroyed", quantity_text="12",
        date=dt.date(2023, 3, 1),
    )  # fmt: skip
    _refresh()
    before = StockEstimate.objects.get(holder=state("UA"), system=system)
    assert not before.inconsistent and before.on_hand == Range(0, None)  # nobody counted
    assert _import(HEADER + "Ukraine,T-64BV,10,2021-12-31,Military Balance 2022\n").ok
    _refresh()
    after = StockEstimate.objects.get(holder=state("UA"), system=system)
    assert after.has_baseline and after.baseline_date == dt.date(2021, 12, 31)
    assert after.inconsistent and after.on_hand == Range(0, 0)  # 12 lost of 10
    # a loss only known to be on or before a date may predate the count: no contradiction
    loss = Expenditure.objects.get(holder=state("UA"), system=system)
    services.record_update(record=loss, date_precision="on_or_before")
    _refresh()
    maybe = StockEstimate.objects.get(holder=state("UA"), system=system)
    assert not maybe.inconsistent and maybe.on_hand == Range(0, 10)
