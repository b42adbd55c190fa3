"""The estimates in the admin: on each country and system page, a changelist with filters,
the explanation with citations, and the refresh actions."""

import pytest
from django.urls import reverse

from inventory.models import WeaponSystem
from stock.models import StaleEstimate, StockEstimate
from stock.refresh import estimates_refresh_pairs
from tests.factories import state
from transfers.demo import demo_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def estimates(db):
    demo_load()
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))


def test_a_country_page_lists_its_estimates_with_ranges_and_a_link_to_why(viewer_client, estimates):
    page = viewer_client.get(
        reverse("admin:inventory_country_change", args=[state("UA").pk])
    ).content.decode()
    assert "Current stock estimates" in page
    assert "Storm Shadow" in page and "≥4" in page  # HIMARS on hand
    estimate = StockEstimate.objects.get(
        holder=state("UA"), system__name="Storm Shadow", scope="system"
    )
    assert reverse("admin:stock_stockestimate_change", args=[estimate.pk]) in page


def test_a_system_page_lists_the_holders(viewer_client, estimates):
    himars = WeaponSystem.objects.get(name="M142 HIMARS")
    page = viewer_client.get(
        reverse("admin:inventory_weaponsystem_change", args=[himars.pk])
    ).content.decode()
    assert "Ukraine" in page and "United States" in page


def test_an_estimate_explains_itself_with_records_and_citations(viewer_client, estimates):
    estimate = StockEstimate.objects.get(
        holder=state("UA"), system__name="Storm Shadow", scope="system"
    )
    page = viewer_client.get(
        reverse("admin:stock_stockestimate_change", args=[estimate.pk])
    ).content.decode()
    assert "Why this number" in page
    assert "dozens more" in page  # the wording of the record, and the quote
    assert "Transfer #" in page and "Pledge #" in page and "Expenditure #" in page
    assert "UNSOURCED" not in page
    assert "Monthly points" in page


def test_the_estimates_changelist_filters_inconsistent_and_no_baseline(viewer_client, estimates):
    url = reverse("admin:stock_stockestimate_changelist")
    assert viewer_client.get(url, {"consistency": "inconsistent"}).status_code == 200
    page = viewer_client.get(url, {"consistency": "no_baseline", "q": "Poland"}).content.decode()
    assert "Poland" in page


def test_refresh_now_recomputes_the_selected(editor_client, estimates):
    estimate = StockEstimate.objects.get(holder=state("UA"), system__name="M142 HIMARS")
    StockEstimate.objects.filter(pk=estimate.pk).update(on_hand_low=999)
    response = editor_client.post(
        reverse("admin:stock_stockestimate_changelist"),
        {"action": "refresh_selected", "_selected_action": [estimate.pk]},
        follow=True,
    )
    assert "Refreshed 1" in response.content.decode()
    assert StockEstimate.objects.get(pk=estimate.pk).on_hand_low == 4
    StockEstimate.objects.filter(pk=estimate.pk).update(on_hand_low=999)
    editor_client.post(
        reverse("admin:inventory_country_changelist"),
        {"action": "refresh_estimates_now", "_selected_action": [state("UA").pk]},
    )
    assert StockEstimate.objects.get(pk=estimate.pk).on_hand_low == 4


def test_nobody_edits_an_estimate_or_a_ledger_row_by_hand(editor_client, estimates):
    estimate = StockEstimate.objects.first()
    url = reverse("admin:stock_stockestimate_change", args=[estimate.pk])
    assert editor_client.post(url, {"on_hand_low": 1}).status_code == 403
    assert editor_client.get(reverse("admin:stock_ledgerentry_add")).status_code == 403


def test_a_big_holders_page_lists_its_estimates_with_the_most_records(
    viewer_client, estimates, monkeypatch
):
    from stock.admin import HolderEstimateInline

    ua = state("UA")
    mine = StockEstimate.objects.filter(holder=ua)
    assert mine.count() > 2
    monkeypatch.setattr(HolderEstimateInline, "shown", 2)
    page = viewer_client.get(reverse("admin:inventory_country_change", args=[ua.pk]))
    links = {
        estimate.pk
        for estimate in mine
        if reverse("admin:stock_stockestimate_change", args=[estimate.pk]) in page.content.decode()
    }
    biggest = set(mine.order_by("-record_count", "pk").values_list("pk", flat=True)[:2])
    assert links == biggest


def _queries(client, url: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured]


def test_the_grade_filter_offers_the_grades_there_are_without_reading_every_estimate(
    viewer_client, estimates
):
    from django.db import connection

    url = reverse("admin:stock_stockestimate_changelist")
    queries = _queries(viewer_client, url)
    response = viewer_client.get(url)
    spec = next(
        s
        for s in response.context["cl"].filter_specs
        if getattr(s, "field_path", "") == "best_grade"
    )
    grades = sorted(set(StockEstimate.objects.values_list("best_grade", flat=True)))
    assert len(grades) > 1 and list(spec.lookup_choices) == grades
    if connection.vendor == "postgresql":  # read from the index, one probe per grade
        assert not [sql for sql in queries if "DISTINCT" in sql and "best_grade" in sql]
    filtered = viewer_client.get(url, {"best_grade": grades[-1]}).context["cl"].result_list
    assert {e.best_grade for e in filtered} == {grades[-1]}


def test_an_estimate_page_costs_the_same_queries_however_many_records_explain_it(
    viewer_client, estimates
):
    import datetime as dt

    from stock.models import LedgerEntry
    from tests.factories import CitationFactory, SourceFactory, TransferFactory

    estimate = StockEstimate.objects.get(
        holder=state("UA"), system__name="Storm Shadow", scope="system"
    )
    url = reverse("admin:stock_stockestimate_change", args=[estimate.pk])
    viewer_client.get(url)  # Django's caches (content types) warm
    few = _queries(viewer_client, url)
    # one more source's records, years before the others (no other dataset reports them)
    source = SourceFactory()
    added = [
        CitationFactory(
            source=source,
            transfer=TransferFactory(
                system=estimate.system, donor=state("FR"), date=dt.date(2019, 1, 1 + day)
            ),
        )
        for day in range(5)
    ]
    estimates_refresh_pairs([(estimate.holder_id, estimate.system_id)])
    rows = LedgerEntry.objects.filter(
        holder=estimate.holder, system=estimate.system, is_cancelled=False
    )
    assert rows.count() >= 5 + 2
    many = _queries(viewer_client, url)
    # the session, the user, the estimate, the user's and the groups' permissions, its holder
    # and system; the ledger rows; for each record type (pledges, transfers, expenditures)
    # its records, their citations and their sources; the monthly points, the conflicts
    assert len(few) == len(many) == 19, "\n".join(sql[:120] for sql in many)
    page = viewer_client.get(url).content.decode()
    for citation in added:  # each row links to its record, each citation to its source
        record = reverse("admin:transfers_transfer_change", args=[citation.transfer_id])
        assert f'<a href="{record}">' in page
        assert f'href="{citation.source.url}"' in page


def test_a_country_page_with_its_estimates_table_saves_as_posted(editor_client, estimates):
    """The estimates are a read-only table: the page posts no estimate forms, and saving the
    country changes none."""
    url = reverse("admin:inventory_country_change", args=[state("UA").pk])
    response = editor_client.get(url)
    data = {}
    form = response.context["adminform"].form
    formsets = [inline.formset for inline in response.context["inline_admin_formsets"]]
    for each in [form, *(f.management_form for f in formsets), *(x for f in formsets for x in f)]:
        for name in each.fields:
            value = each[name].value()
            data[each.add_prefix(name)] = "" if value is None else value
    data["notes"] = "edited beside its estimates"
    before = list(StockEstimate.objects.filter(holder=state("UA")).values_list("pk", "on_hand_low"))
    assert editor_client.post(url, data).status_code == 302
    assert state("UA").notes == "edited beside its estimates"
    after = list(StockEstimate.objects.filter(holder=state("UA")).values_list("pk", "on_hand_low"))
    assert after == before and len(before) > 2
