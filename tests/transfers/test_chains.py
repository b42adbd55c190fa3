"""Issue 17: every claim of the seed story has a home. Parties that arrange, finance or
consent to a movement (party roles), stated policies, and cited facts about systems are
entered through the services, cited and graded, reachable by filters, the API, the admin
and the report emails, and refused with a message naming the field and the value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from inventory.models import Country, WeaponSystem
from inventory.services import weapon_system_create
from tests.factories import PledgeFactory, TransferFactory, WeaponSystemFactory
from transfers import services
from transfers.models import (
    RECORD_MODELS,
    Citation,
    PartyRole,
    Pledge,
    Policy,
    SystemFact,
    Transfer,
)
from transfers.selectors import policies_bearing_on

pytestmark = pytest.mark.django_db

REPORT = {
    "title": "US in talks with third countries over more ATACMS for Ukraine",
    "publisher": "News agency",
    "reliability": "B",
}
ANONYMOUS = {"attribution": "anonymous", "credibility": 3}


def _cite(excerpt: str, **grade) -> list[dict]:
    return [{"source": REPORT, "excerpt": excerpt, **(grade or ANONYMOUS)}]


def party(code: str) -> Country:
    return Country.objects.get(code=code)


def _story() -> dict:
    """The worked example of PRODUCT.md, entered as an editor would, through the services."""
    atacms = weapon_system_create(name="ATACMS", counting_unit="missile")
    block_ia = weapon_system_create(name="ATACMS Block IA", parent=atacms)
    storm_shadow = weapon_system_create(name="Storm Shadow", counting_unit="missile")
    pledge = services.pledge_create(
        donor=None,
        recipient=party("UA"),
        system=atacms,
        quantity_text="unknown",
        status="under_discussion",
        date=dt.date(2024, 11, 1),
        date_precision="month",
        citations=_cite("talking to third countries about giving Ukraine more ATACMS"),
    )
    role = services.party_role_create(
        movement=pledge,
        party=party("US"),
        role="arranger",
        citations=_cite("The US is talking to third countries"),
    )
    policy = services.policy_create(
        party=party("US"),
        kind="will_not_transfer",
        system=atacms,
        recipient=party("UA"),
        statement="The US will not send more ATACMS of its own.",
        date=dt.date(2024, 11, 1),
        date_precision="month",
        citations=_cite("will not send more ATACMS of its own"),
    )
    for grantor, system, scope in (
        ("US", atacms, "Strikes into some parts of Russia"),
        ("GB", storm_shadow, "Strikes into Russia"),
    ):
        services.authorization_create(
            grantor=party(grantor),
            holder=party("UA"),
            system=system,
            scope=scope,
            date=dt.date(2024, 11, 17),
            citations=_cite(f"authorized Kyiv to fire {system} into Russia", credibility=2),
        )
    for system in (atacms, storm_shadow):
        services.expenditure_create(
            holder=party("UA"),
            kind="launched",
            system=system,
            quantity_text="unknown",
            date=dt.date(2024, 11, 27),
            date_precision="on_or_before",
            citations=_cite(f"Ukraine launched {system} into Russia in recent weeks"),
        )
    services.transfer_create(
        donor=party("GB"),
        recipient=party("UA"),
        system=storm_shadow,
        quantity_text="dozens",
        date=dt.date(2024, 11, 1),
        date_precision="month",
        citations=_cite('The UK sent "dozens more" Storm Shadows'),
    )
    for buyer in ("KR", "TW", "RO", "PL", "AE"):
        services.holding_create(
            holder=party(buyer),
            kind="contracted",
            supplier=party("US"),
            system=atacms,
            quantity_text="unknown",
            date=dt.date(2024, 11, 27),
            citations=_cite("have contracted ATACMS from the US", credibility=2),
        )
    facts = [
        services.system_fact_create(
            system=atacms,
            kind="manufacturer",
            manufacturer="Lockheed Martin",
            citations=_cite("Army Tactical Missile System, Lockheed Martin", credibility=2),
        ),
        services.system_fact_create(
            system=atacms,
            kind="range",
            wording="up to 190 miles",
            citations=_cite("range up to 190 miles / about 300 km", credibility=2),
        ),
    ]
    return {
        "pledge": pledge,
        "role": role,
        "policy": policy,
        "facts": facts,
        "atacms": atacms,
        "block_ia": block_ia,
    }


def test_the_whole_story_is_entered_through_the_services_and_nothing_is_in_notes_alone():
    story = _story()
    claims = [*RECORD_MODELS, PartyRole, SystemFact]
    for model in claims:
        for row in model.objects.all():
            # every claim is a cited row of its own: none lives in notes
            assert row.notes == "", (model.__name__, row.notes)
            assert row.citations.exists(), f"{row} is unsourced"
    assert Citation.objects.filter(party_role=story["role"], attribution="anonymous").exists()
    pledge = Pledge.objects.get()
    assert pledge.donor is None
    assert [(r.party.code, r.role) for r in pledge.roles.all()] == [("US", "arranger")]
    assert policies_bearing_on([pledge]) == {pledge.pk: [story["policy"]]}
    atacms = WeaponSystem.objects.get(name="ATACMS")
    assert atacms.manufacturer == "Lockheed Martin"
    assert atacms.range_km == Decimal("305.8")  # 190 statute miles
    fact = SystemFact.objects.get(kind="range")
    assert (fact.range_value, fact.range_unit, fact.wording) == (190, "mi", "up to 190 miles")
    # history kept for each new kind of row
    for row in (story["role"], story["policy"], fact):
        assert row.history.filter(history_type="+").count() == 1
    assert atacms.history.count() == 3  # created, then set by the two facts


def test_a_policy_on_a_family_bears_on_pledges_of_its_variants_and_only_its_recipients():
    story = _story()
    variant_pledge = PledgeFactory(system=story["block_ia"], recipient=party("UA"))
    elsewhere = PledgeFactory(system=story["block_ia"], recipient=party("PL"))
    other_system = PledgeFactory(recipient=party("UA"))
    found = policies_bearing_on([variant_pledge, elsewhere, other_system])
    assert found == {variant_pledge.pk: [story["policy"]], elsewhere.pk: [], other_system.pk: []}
    services.record_update(record=story["policy"], include_variants=False)
    assert policies_bearing_on([variant_pledge])[variant_pledge.pk] == []


def test_a_role_names_a_third_party_and_refusals_write_nothing():
    transfer = TransferFactory(donor=party("DE"), recipient=party("UA"))
    before = (PartyRole.objects.count(), PartyRole.history.count(), Citation.objects.count())
    with pytest.raises(ValidationError) as refused:
        services.party_role_create(movement=transfer, party=party("DE"), role="financer")
    assert "Germany is already the donor" in refused.value.message_dict["party"][0]
    with pytest.raises(ValidationError) as refused:
        services.party_role_create(
            movement=transfer,
            party=party("NL"),
            role="financer",
            citations=[{"source": {"url": "https://example.org/a"}}],  # a new source, no title
        )
    assert "https://example.org/a" in refused.value.message_dict["title"][0]
    with pytest.raises(ValidationError) as refused:
        services.party_role_create(movement=transfer, party=party("NL"), role="boss")
    assert "'boss'" in refused.value.message_dict["role"][0]
    assert (
        PartyRole.objects.count(),
        PartyRole.history.count(),
        Citation.objects.count(),
    ) == before
    services.party_role_create(movement=transfer, party=party("NL"), role="financer")
    with pytest.raises(ValidationError) as refused:
        services.party_role_create(movement=transfer, party=party("NL"), role="financer")
    assert "already has this role" in str(refused.value)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"kind": "range", "wording": "very far"}, "wording", "'very far'"),
        ({"kind": "range", "range_value": -5, "range_unit": "km"}, "range_value", "-5"),
        ({"kind": "range", "range_value": 5, "range_unit": "leagues"}, "range_unit", "'leagues'"),
        ({"kind": "manufacturer"}, "manufacturer", "needs its manufacturer"),
        (
            {"kind": "manufacturer", "manufacturer": "LM", "wording": "x", "range_value": 3},
            "range_value",
            "Decimal('3')",
        ),
        ({"kind": "colour", "manufacturer": "LM"}, "kind", "'colour'"),
    ],
)
def test_a_fact_is_refused_naming_its_field_and_value(fields, field, words):
    system = WeaponSystemFactory(manufacturer="")
    with pytest.raises(ValidationError) as refused:
        services.system_fact_create(system=system, **fields)
    assert words in " ".join(refused.value.message_dict[field])
    assert not SystemFact.objects.exists()
    system.refresh_from_db()
    assert system.manufacturer == "" and system.history.count() == 1


def test_ranges_in_miles_and_nautical_miles_keep_their_words():
    system = WeaponSystemFactory()
    nautical = services.system_fact_create(
        system=system,
        kind="range",
        range_value=Decimal("162"),
        range_unit="nmi",
        wording="162 nautical miles",
    )
    assert nautical.range_km == Decimal("300.0") and nautical.wording == "162 nautical miles"
    services.system_fact_update(fact=nautical, wording="about 300 km")
    nautical.refresh_from_db()
    assert (nautical.range_value, nautical.range_unit, nautical.range_km) == (300, "km", 300)
    system.refresh_from_db()
    assert system.range_km == Decimal("300.0")


def test_a_policy_is_refused_without_a_statement_or_ending_before_it_starts():
    system = WeaponSystemFactory()
    with pytest.raises(ValidationError) as refused:
        services.policy_create(
            party=party("US"), kind="will_not_transfer", system=system, statement="  "
        )
    assert "statement" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.policy_create(
            party=party("US"),
            kind="pause",
            system=system,
            statement="paused",
            date=dt.date(2024, 5, 1),
            valid_until=dt.date(2024, 4, 1),
        )
    assert "2024-04-01" in refused.value.message_dict["valid_until"][0]
    assert not Policy.objects.exists() and not Policy.history.exists()


# -- API -------------------------------------------------------------------------------------


def test_api_filters_pledges_by_the_parties_of_their_chain(api_client_for, viewer):
    story = _story()
    other = PledgeFactory(recipient=party("UA"))
    client = api_client_for(viewer)
    for query in ("arranger=US", "via=US", "via=united states"):
        body = client.get(f"/api/v1/pledges/?{query}").json()
        assert [row["id"] for row in body["results"]] == [story["pledge"].pk], query
    assert client.get("/api/v1/pledges/?financer=US").json()["results"] == []
    refused = client.get("/api/v1/pledges/?arranger=Atlantis")
    assert refused.status_code == 400 and "Atlantis" in str(refused.json())
    rows = {row["id"]: row for row in client.get("/api/v1/pledges/").json()["results"]}
    assert rows[story["pledge"].pk]["roles"] == [
        {
            "id": story["role"].pk,
            "party": {"id": party("US").pk, "code": "US", "name": "United States"},
            "role": "arranger",
        }
    ]
    assert [p["id"] for p in rows[story["pledge"].pk]["policies"]] == [story["policy"].pk]
    assert rows[other.pk]["policies"] == []
    detail = client.get(f"/api/v1/pledges/{story['pledge'].pk}/").json()
    assert detail["policies"][0]["statement"] == "The US will not send more ATACMS of its own."
    facts = client.get("/api/v1/system-facts/?system=ATACMS&kind=range").json()["results"]
    assert facts[0]["wording"] == "up to 190 miles" and facts[0]["range_km"] == "305.8"
    assert facts[0]["citations"][0]["grade"] == "B2"
    services.system_fact_create(
        system=story["atacms"],
        kind="origin",
        origin=party("US"),
        citations=_cite("the American-made ATACMS", credibility=2),
    )
    origin = client.get("/api/v1/system-facts/?system=ATACMS&kind=origin").json()["results"]
    assert origin[0]["value_display"] == "United States"  # the name, on the API's row path
    policies = client.get(f"/api/v1/policies/?bears_on_pledge={story['pledge'].pk}").json()
    assert [p["id"] for p in policies["results"]] == [story["policy"].pk]


def test_pledge_list_queries_do_not_grow_with_roles_and_policies(
    api_client_for, viewer, django_assert_max_num_queries
):
    story = _story()
    client = api_client_for(viewer)
    client.get("/api/v1/pledges/")  # warm the caches (row plans, content types)
    with django_assert_max_num_queries(12) as few:
        client.get("/api/v1/pledges/")
    for n in range(6):
        pledge = PledgeFactory(system=story["block_ia"], donor=party("GB"), recipient=party("UA"))
        services.party_role_create(movement=pledge, party=party("US"), role="arranger")
        services.party_role_create(
            movement=pledge, party=party(("DE", "NL")[n % 2]), role="financer"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/api/v1/pledges/").json()
    assert len(body["results"]) == 7
    assert all(row["policies"] for row in body["results"])


def test_api_writes_roles_and_facts_with_citations_and_refuses_naming_the_value(
    api_client_for, editor
):
    transfer = TransferFactory(donor=party("CZ"), recipient=party("UA"))
    client = api_client_for(editor)
    source = {"url": "https://example.org/czech-initiative", "title": "Czech ammunition initiative"}
    created = client.post(
        "/api/v1/party-roles/",
        {
            "transfer": transfer.pk,
            "party": "DE",
            "role": "financer",
            "citations": [{"source": source, "excerpt": "financed by Germany", "credibility": 2}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    role = PartyRole.objects.get()
    assert role.citations.get().excerpt == "financed by Germany"
    assert role.history.get().door == "api"
    assert client.get("/api/v1/transfers/?financer=DE").json()["results"][0]["id"] == transfer.pk
    for body, field, words in (
        ({"transfer": transfer.pk, "party": "UA", "role": "financer"}, "party", "Ukraine"),
        ({"party": "DE", "role": "financer"}, "pledge", "none"),
        ({"transfer": transfer.pk, "party": "Narnia", "role": "financer"}, "party", "Narnia"),
    ):
        refused = client.post("/api/v1/party-roles/", body, format="json")
        assert refused.status_code == 400 and words in str(refused.json()[field]), refused.json()
    assert PartyRole.objects.count() == 1
    fact = client.post(
        "/api/v1/system-facts/",
        {"system": transfer.system_id, "kind": "range", "wording": "about 70 km"},
        format="json",
    )
    assert fact.status_code == 201 and fact.json()["range_km"] == "70.0"
    refused = client.post(
        "/api/v1/system-facts/",
        {"system": transfer.system_id, "kind": "range", "wording": "far"},
        format="json",
    )
    assert refused.status_code == 400 and "'far'" in str(refused.json()["wording"])
    assert SystemFact.objects.count() == 1


# -- admin, emails ---------------------------------------------------------------------------


def test_admin_shows_roles_and_policies_on_the_pledge_and_facts_on_the_system(editor_client):
    story = _story()
    page = editor_client.get(reverse("admin:transfers_pledge_change", args=[story["pledge"].pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Policies that bear on this pledge" in text
    assert "The US will not send more ATACMS of its own." in text
    assert "other parties" in text.lower() and 'value="arranger" selected' in text
    listing = editor_client.get(reverse("admin:transfers_pledge_changelist")).content.decode()
    assert "via United States" in listing
    system_page = editor_client.get(
        reverse("admin:inventory_weaponsystem_change", args=[story["atacms"].pk])
    ).content.decode()
    assert "up to 190 miles" in system_page and "Lockheed Martin" in system_page
    for name in ("partyrole", "policy", "systemfact"):
        assert editor_client.get(reverse(f"admin:transfers_{name}_changelist")).status_code == 200


def test_admin_saves_a_role_inline_through_the_services(editor_client):
    from transfers.services import source_create

    source = source_create(url="https://news.example.org/czech", title="Czech initiative")
    system = WeaponSystemFactory(name="155mm shell")
    data = {
        "donor": party("CZ").pk,
        "recipient": party("UA").pk,
        "system": system.pk,
        "basis": "unknown",
        "condition": "unknown",
        "quantity_text": "dozens",
        "date": "2024-11",
        "date_precision": "month",
        "notes": "",
        "citations-TOTAL_FORMS": "1",
        "citations-INITIAL_FORMS": "0",
        "citations-MIN_NUM_FORMS": "0",
        "citations-MAX_NUM_FORMS": "1000",
        "citations-0-source": source.pk,
        "citations-0-excerpt": "Czech shells financed by Germany",
        "citations-0-locator": "",
        "citations-0-stance": "supports",
        "citations-0-attribution": "named",
        "citations-0-reliability": "",
        "citations-0-credibility": "2",
        "roles-TOTAL_FORMS": "1",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-party": party("DE").pk,
        "roles-0-role": "financer",
        "roles-0-notes": "",
    }
    refused = editor_client.post(
        reverse("admin:transfers_transfer_add"), {**data, "roles-0-party": party("CZ").pk}
    )
    assert refused.status_code == 200 and "Czechia is already the donor" in refused.content.decode()
    assert not Transfer.objects.exists() and not PartyRole.objects.exists()
    response = editor_client.post(reverse("admin:transfers_transfer_add"), data)
    assert response.status_code == 302
    role = PartyRole.objects.get()
    assert (role.transfer_id, role.party.code) == (Transfer.objects.get().pk, "DE")
    assert role.history.get().door == "admin"


def test_report_emails_name_the_chain_and_the_policies():
    from reports.rendering import report_text
    from reports.selectors import report_build
    from reports.services import subscription_create

    story = _story()
    subscription = subscription_create(
        email="reader@example.org", cadence="weekly", confirmed_at=dt.datetime.now(dt.UTC)
    )
    today = dt.date.today()
    report = report_build(subscription=subscription, period=(today, today + dt.timedelta(days=6)))
    text = report_text(report, [], unsubscribe="https://example.org/u")
    assert "== Chains and policies ==" in text
    text = " ".join(text.split())  # lines are wrapped
    assert "via United States" in text
    assert "The US will not send more ATACMS of its own." in text
    assert str(story["pledge"]) in text


# -- import ----------------------------------------------------------------------------------


def test_sipri_classic_maps_stated_financers_and_keeps_hedged_suppliers_in_notes():
    from transfers.importers import import_file

    from . import import_fixtures as fx

    rows = [
        *fx.ROWS_CLASSIC[:3],
        "Ukraine,Czechia,2023,,100,,Dana M2,self-propelled gun,100,,2023,Second hand,"
        "Financed by Netherlands as aid after 2022 Russian invasion; via Slovakia,1,100,100",
        "Ukraine,Czechia,2024,,10,,RM-70,MRL,10,,2024,Second hand,"
        "Possibly financed by Germany,1,10,10",
    ]
    report = import_file("sipri-classic", fx.sipri_classic(rows), filename="classic.csv")
    assert report.ok, report.summary()
    roles = {
        (r.transfer.system.name, r.party.code, r.role, r.citations.get().excerpt)
        for r in PartyRole.objects.select_related("transfer__system", "party")
    }
    assert roles == {
        ("Mi-17", "AE", "financer", "financed by UAE"),
        ("Dana M2", "NL", "financer", "Financed by Netherlands as aid after 2022 Russian invasion"),
        ("Dana M2", "SK", "intermediary", "via Slovakia"),
    }
    # hedged mentions name no role; their words stay in the notes, as the register wrote them
    hedged = Transfer.objects.get(system__name="RM-70")
    assert not hedged.roles.exists() and "Possibly financed by Germany" in hedged.notes
    angola = Transfer.objects.get(recipient__code="AO")
    assert not angola.roles.exists() and "Supplier possibly Bulgaria" in angola.notes
    grades = {c.grade for c in Citation.objects.filter(party_role__isnull=False)}
    assert grades <= {"A2", "A3", "B2", "B3"}  # graded as the register row is
    again = import_file("sipri-classic", fx.sipri_classic(rows), filename="classic.csv")
    assert again.ok and again.roles_created == 0 and PartyRole.objects.count() == 3
