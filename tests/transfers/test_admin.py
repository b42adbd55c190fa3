"""The admin: every page renders for editors and viewers, viewers cannot save, refusals
name the field and write nothing, and the worked example of PRODUCT.md can be entered
through the admin forms alone."""

import pytest
from django.contrib import admin
from django.urls import reverse

from inventory.models import Country, SystemAliasProposal, WeaponSystem
from tests.factories import UserFactory
from transfers.demo import demo_load
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Source, Transfer

pytestmark = pytest.mark.django_db

APPS = {"inventory", "transfers"}


def _registered():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in APPS
    ]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def demo(db):
    """The demo data, its estimates (a worker would compute them after commit), and one
    report subscription with a delivery, so that every registered model has a row."""
    import datetime as dt

    from reports.models import ReportDelivery, Subscription
    from stock.models import StaleEstimate
    from stock.refresh import estimates_refresh_pairs

    demo_load()
    unresolved = WeaponSystem.objects.create(name="227mm HIMARS launcher", catalogued=False)
    SystemAliasProposal.objects.create(
        name=unresolved.name,
        name_normalized="227mm himars launcher",
        system=unresolved,
        candidate=WeaponSystem.objects.get(name="M142 HIMARS"),
        relation="alias",
        method="alternative",
    )
    estimates_refresh_pairs(StaleEstimate.objects.values_list("holder_id", "system_id"))
    subscription = Subscription.objects.create(
        email="analyst@example.org", cadence="weekly", starts_on=dt.date(2026, 11, 2)
    )
    ReportDelivery.objects.create(
        subscription=subscription,
        recipient=subscription.email,
        cadence="weekly",
        period_start=dt.date(2026, 11, 23),
        period_end=dt.date(2026, 11, 30),
    )


@pytest.mark.parametrize("role", ["editor", "viewer", "administrator"])
def test_every_changelist_and_change_page_renders(client, demo, role):
    client.force_login(UserFactory(username=role, role=role))
    for model, model_admin in _registered():
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200, (model, response.status_code)
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, model
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, (model, response.status_code)
        if hasattr(model_admin, "history_view"):
            assert client.get(_url(model, "history", obj.pk)).status_code == 200


def test_changelists_search_and_filters_work(editor_client, demo):
    response = editor_client.get(_url(Transfer, "changelist"), {"q": "SCALP-EG"})
    assert response.status_code == 200
    assert "dozens more" in response.content.decode()
    countries = editor_client.get(_url(Country, "changelist"), {"q": "UAE"})
    assert "United Arab Emirates" in countries.content.decode()


def test_unsourced_records_are_marked_and_filterable(editor_client, demo):
    Transfer.objects.filter(
        external_id="demo:us-himars-first-2022-06"
    ).first().citations.all().delete()
    response = editor_client.get(_url(Transfer, "changelist"), {"sourced": "no"})
    page = response.content.decode()
    assert "UNSOURCED" in page and "M142 HIMARS" in page
    assert [t.system.name for t in response.context["cl"].result_list] == ["M142 HIMARS"]


def test_every_add_page_renders_for_editors_and_is_forbidden_to_viewers(client, demo):
    editor = UserFactory(username="ed", role="editor")
    viewer = UserFactory(username="vi", role="viewer")
    for model, model_admin in _registered():
        if not model_admin.has_add_permission(_request(editor)):
            continue
        client.force_login(editor)
        assert client.get(_url(model, "add")).status_code == 200, model
        client.force_login(viewer)
        assert client.get(_url(model, "add")).status_code == 403, model


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def test_viewer_cannot_save_or_delete(viewer_client, demo):
    transfer = Transfer.objects.first()
    before = Transfer.history.count()
    response = viewer_client.post(_url(Transfer, "change", transfer.pk), {"quantity_text": "5"})
    assert response.status_code == 403
    assert (
        viewer_client.post(_url(Transfer, "delete", transfer.pk), {"post": "yes"}).status_code
        == 403
    )
    assert Transfer.history.count() == before
    page = viewer_client.get(_url(Transfer, "change", transfer.pk)).content.decode()
    assert 'name="_save"' not in page


def test_editor_cannot_delete_records(editor_client, demo):
    transfer = Transfer.objects.first()
    assert (
        editor_client.post(_url(Transfer, "delete", transfer.pk), {"post": "yes"}).status_code
        == 403
    )
    assert Transfer.objects.filter(pk=transfer.pk).exists()


def _management(prefix="citations", total=0):
    """The inline formsets' management data: `prefix` with `total` forms, and no party
    roles (the pledge and transfer pages' second inline; ignored by the other pages)."""
    forms = {"roles": 0, prefix: total}
    return {
        key: value
        for name, count in forms.items()
        for key, value in (
            (f"{name}-TOTAL_FORMS", str(count)),
            (f"{name}-INITIAL_FORMS", "0"),
            (f"{name}-MIN_NUM_FORMS", "0"),
            (f"{name}-MAX_NUM_FORMS", "1000"),
        )
    }


def _citation(source, excerpt, credibility, attribution="unstated", index=0):
    p = f"citations-{index}"
    return {
        f"{p}-source": str(source.pk),
        f"{p}-excerpt": excerpt,
        f"{p}-locator": "",
        f"{p}-stance": "supports",
        f"{p}-attribution": attribution,
        f"{p}-reliability": "",
        f"{p}-credibility": str(credibility),
    }


def _post_record(client, model, fields, citations):
    data = {"date_precision": "month", "notes": ""}
    data.update({k: "" if v is None else str(v) for k, v in fields.items()})
    data.update(_management(total=len(citations)))
    for index, citation in enumerate(citations):
        data.update(_citation(index=index, **citation))
    response = client.post(_url(model, "add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return model.objects.order_by("-pk").first()


def test_admin_refusal_names_field_and_value_and_writes_nothing(editor_client, demo):
    gb, ua = Country.objects.get(code="GB"), Country.objects.get(code="UA")
    storm_shadow = WeaponSystem.objects.get(name="Storm Shadow")
    before = Transfer.objects.count(), Transfer.history.count()
    data = {
        "donor": gb.pk,
        "recipient": ua.pk,
        "system": storm_shadow.pk,
        "basis": "unknown",
        "condition": "unknown",
        "quantity_text": "lots!!",
        "date": "2024-11-01",
        "date_precision": "month",
        **_management(),
    }
    page = editor_client.post(_url(Transfer, "add"), data).content.decode()
    assert "lots!!" in page and "errorlist" in page
    data.update(quantity_text="", quantity_low="10", quantity_high="2")
    page = editor_client.post(_url(Transfer, "add"), data).content.decode()
    assert "The high quantity (2) is below the low quantity (10)" in page
    data.update(quantity_low="", quantity_high="", quantity_text="5", recipient=gb.pk)
    page = editor_client.post(_url(Transfer, "add"), data).content.decode()
    assert "The recipient (United Kingdom) cannot also be the donor" in page
    assert (Transfer.objects.count(), Transfer.history.count()) == before


def test_admin_citation_inline_refuses_anonymous_confirmed(editor_client, demo):
    source = Source.objects.first()
    data = {
        "holder": Country.objects.get(code="UA").pk,
        "system": WeaponSystem.objects.get(name="ATACMS").pk,
        "kind": "launched",
        "quantity_text": "unknown",
        "date": "2024-11-01",
        "date_precision": "month",
        **_management(total=1),
        **_citation(source, "people familiar with the discussions", 1, "anonymous"),
    }
    before = Expenditure.objects.count()
    page = editor_client.post(_url(Expenditure, "add"), data).content.decode()
    assert "Anonymous sourcing cannot be graded 1" in page
    assert Expenditure.objects.count() == before


def test_worked_example_can_be_entered_through_the_admin(client):
    """PRODUCT.md's late-November-2024 report, entered by an editor with the admin forms only:
    undisclosed donor, "dozens", unknown quantities, two authorizations, anonymous sourcing."""
    editor = UserFactory(username="clerk", role="editor")
    client.force_login(editor)
    code = {
        c: Country.objects.get(code=c).pk for c in ("US", "GB", "UA", "KR", "TW", "RO", "PL", "AE")
    }

    # The systems, with their aliases, through the admin.
    for name, alias in (("ATACMS", "MGM-140"), ("Storm Shadow", "SCALP-EG")):
        response = client.post(
            _url(WeaponSystem, "add"),
            {
                "name": name,
                "counting_unit": "missile",
                "aliases-TOTAL_FORMS": "1",
                "aliases-INITIAL_FORMS": "0",
                "aliases-MIN_NUM_FORMS": "0",
                "aliases-MAX_NUM_FORMS": "1000",
                "aliases-0-alias": alias,
                "aliases-0-kind": "designation",
                "variants-TOTAL_FORMS": "0",
                "variants-INITIAL_FORMS": "0",
                "variants-MIN_NUM_FORMS": "0",
                "variants-MAX_NUM_FORMS": "0",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    atacms = WeaponSystem.objects.get(name="ATACMS").pk
    storm = WeaponSystem.objects.get(name="Storm Shadow").pk

    # The source, created in place from the citation's "+" popup.
    response = client.post(
        _url(Source, "add") + "?_to_field=id&_popup=1",
        {
            "url": "",
            "title": "US in talks with third countries over more ATACMS for Ukraine",
            "publisher": "News agency",
            "source_type": "news",
            "reliability": "B",
            "_popup": "1",
            "_to_field": "id",
        },
    )
    assert response.status_code == 200 and "popup_response" in response.content.decode()
    report = Source.objects.get()

    anon = {"attribution": "anonymous", "credibility": 3}
    pledge = _post_record(
        client,
        Pledge,
        {
            "donor": None,
            "recipient": code["UA"],
            "system": atacms,
            "status": "under_discussion",
            "quantity_text": "unknown",
            "date": "2024-11-01",
            "notes": "The US will not send more ATACMS of its own.",
        },
        [
            {
                "source": report,
                "excerpt": "talking to third countries about giving Ukraine more ATACMS",
                **anon,
            }
        ],
    )
    for grantor, system, scope in (
        (code["US"], atacms, "ATACMS into some parts of Russia"),
        (code["GB"], storm, "Storm Shadow into Russia"),
    ):
        _post_record(
            client,
            Authorization,
            {
                "grantor": grantor,
                "holder": code["UA"],
                "system": system,
                "kind": "permit",
                "scope": scope,
                "date": "2024-11-01",
                "valid_until": "",
            },
            [{"source": report, "excerpt": "authorized Kyiv to fire", "credibility": 2}],
        )
    for system in (atacms, storm):
        _post_record(
            client,
            Expenditure,
            {
                "holder": code["UA"],
                "system": system,
                "kind": "launched",
                "quantity_text": "unknown",
                "date": "2024-11-01",
                "location": "Russia",
            },
            [
                {
                    "source": report,
                    "excerpt": "launched both into Russia in recent weeks",
                    "credibility": 2,
                }
            ],
        )
    transfer = _post_record(
        client,
        Transfer,
        {
            "donor": code["GB"],
            "recipient": code["UA"],
            "system": storm,
            "basis": "unknown",
            "pledge": "",
            "condition": "unknown",
            "quantity_text": "dozens more",
            "date": "2024-11-01",
        },
        [{"source": report, "excerpt": 'sent "dozens more" Storm Shadows', **anon}],
    )
    for holder in ("KR", "TW", "RO", "PL", "AE"):
        _post_record(
            client,
            Holding,
            {
                "holder": code[holder],
                "supplier": code["US"],
                "system": atacms,
                "kind": "contracted",
                "quantity_text": "",
                "date": "2024-11-01",
            },
            [{"source": report, "excerpt": "have contracted ATACMS from the US", "credibility": 2}],
        )

    pledge.refresh_from_db()
    assert (
        pledge.donor is None and pledge.quantity_low is None and pledge.status == "under_discussion"
    )
    assert (transfer.quantity_low, transfer.quantity_high, transfer.quantity_text) == (
        24,
        99,
        "dozens more",
    )
    assert Authorization.objects.count() == 2
    assert Expenditure.objects.filter(quantity_low__isnull=True).count() == 2
    assert Holding.objects.filter(kind="contracted", quantity_low__isnull=True).count() == 5
    assert Citation.objects.filter(attribution="anonymous").count() == 2
    assert Citation.objects.count() == 11
    assert all(row.door == "admin" and row.actor_name == "clerk" for row in Transfer.history.all())
