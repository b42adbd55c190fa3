"""The pledges table counts pledge movements: the same pledge reported by several datasets
is one row (its numbers reconciled as the matching reconciles them), a disagreement is
marked, and a pledge the matching does not reconcile is a row of its own."""

from __future__ import annotations

import datetime as dt

import pytest

from stock.models import Movement
from tests.explorer.test_pages import cells
from tests.factories import SourceFactory, WeaponSystemFactory, state
from transfers import services

pytestmark = pytest.mark.django_db


def _pledge(source, system, quantity: str, *, status: str = "announced", donor: str = "US"):
    return services.pledge_create(
        donor=state(donor),
        recipient=state("UA"),
        system=system,
        quantity_text=quantity,
        date=dt.date(2024, 3, 1),
        date_precision="day",
        status=status,
        citations=[{"source": source, "excerpt": quantity, "credibility": 2}],
    )


def test_a_pledge_that_two_datasets_report_is_one_row_and_a_disagreement_is_marked(
    viewer_client,
):
    agreed, disputed, closed = (WeaponSystemFactory(name=n) for n in ("Abrams", "Bradley", "M113"))
    kiel, article = SourceFactory(title="Kiel"), SourceFactory(title="An article")
    _pledge(kiel, agreed, "31")
    _pledge(article, agreed, "31")
    _pledge(kiel, disputed, "60")
    _pledge(article, disputed, "50")
    _pledge(kiel, closed, "40", status="delivered")  # posts no ledger row: not reconciled
    assert Movement.objects.filter(kind="pledge").count() == 2

    html = viewer_client.get("/explore/parties/UA/").content.decode()
    assert sorted(cells(html, "pledges", "system")) == ["Abrams", "Bradley", "M113"]
    by_system = dict(
        zip(
            cells(html, "pledges", "system"),
            zip(
                cells(html, "pledges", "pledged"),
                cells(html, "pledges", "outstanding"),
                cells(html, "pledges", "reports"),
                cells(html, "pledges", "flags"),
                strict=True,
            ),
            strict=True,
        )
    )
    assert by_system["Abrams"] == ("31", "31", "2", "reported by 2 datasets, counted once")
    assert by_system["Bradley"] == (
        "50–60",
        "50–60",
        "2",
        "conflicting reports, reported by 2 datasets, counted once",
    )
    assert by_system["M113"] == ("40", "0", "1", "")
    # the disputed row's numbers are marked; the flow page groups them the same way
    body = html.split('data-table="pledges"', 1)[1].split("</table>", 1)[0]
    assert body.count('class="num marked"') == 5  # the Bradleys' numeric cells
    flow = viewer_client.get("/explore/flows/US/UA/?format=json").json()
    assert sorted(r["reports"] for r in flow["tables"]["pledges"]["rows"]) == [1, 2, 2]
